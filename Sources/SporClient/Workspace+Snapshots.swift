import Foundation
import GRDB
import SporCRDT
import SporWire

/// A first sync that starts from the server's document file (SNAPSHOT, protocol 4)
/// instead of every change batch stored before it.
extension Workspace {
    /// Merges the server's document file `file` of proposal `id`, trusting its texts
    /// as the client trusts its server (the file is opened, not replayed: O(texts)),
    /// and records `storedTimes`. Into a document that has events already the file's
    /// events are merged like any batch. Stored as the document's snapshot, in one
    /// transaction; a file that does not decode or merge throws the `CRDTError` and
    /// stores nothing.
    func mergeSnapshotFromServer(_ id: String, file: [UInt8], storedTimes: [SporMessage.StoredTimeRun], cached: LoadedDocument?,
                                 agent: AgentID, now: Date = Date()) async throws -> (LoadedDocument, newEvents: Int) {
        let path = path
        return try await asyncWrite { db in
            var loaded = try Self.loadOrCreate(id, cached: cached, agent: agent, db: db, path: path, now: now)
            let before = loaded.document.eventCount
            try loaded.document.merge(encodedChanges: file, trustingTexts: true)
            for run in storedTimes where run.storedAt > 0 {
                try db.cachedStatement(sql: """
                    INSERT INTO storedTime (documentID, agent, startSeq, endSeq, storedAt) VALUES (?, ?, ?, ?, ?)
                    """).execute(arguments: [id, run.agent.name, run.seqs.lowerBound, run.seqs.upperBound, run.storedAt])
            }
            let newEvents = loaded.document.eventCount - before
            if newEvents > 0 {
                try Self.storeState(of: &loaded, id: id, db: db, now: now, forceSnapshot: true)
            }
            return (loaded, newEvents)
        }
    }
}
