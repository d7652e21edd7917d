import Foundation
import GRDB
import SporCRDT

/// When the server stored each change (protocol 3): the time a save reached the
/// server, by the server's clock. It is shown beside the author's own clock in
/// `spor log`; the two can differ honestly (a save made offline on Monday and synced
/// on Wednesday) or because a clock is wrong. Neither decides anything here: the
/// server's deadlines are checked by the server itself.
///
/// Kept per stored batch as the agent runs it held (table `storedTime`), written in
/// the transaction that merges or acknowledges the batch. An event the server got
/// twice (a push whose acknowledgement was lost, sent again) may have two rows; the
/// earliest is the time it was stored.
extension Workspace {
    /// Records that the server stored `batch` at `storedAt` (Unix seconds; 0 or less:
    /// not known, nothing recorded). A batch that does not read records nothing: the
    /// time is information, never worth refusing a merge over.
    static func recordStoredTime(_ storedAt: Int64, of batch: [UInt8], document: String, db: Database) throws {
        guard storedAt > 0, let summary = try? ChangeSummary(encodedChanges: batch) else { return }
        for run in summary.runs {
            try db.cachedStatement(sql: """
                INSERT INTO storedTime (documentID, agent, startSeq, endSeq, storedAt) VALUES (?, ?, ?, ?, ?)
                """).execute(arguments: [document, run.agent.name, run.seqs.lowerBound, run.seqs.upperBound, storedAt])
        }
    }

    /// When the server stored each of `events` of proposal `id`, for those it is
    /// known of (received or acknowledged over protocol 3). One indexed read per event.
    public func storedTimes(of id: String, for events: [EventID]) throws -> [EventID: Date] {
        try read { db in
            var times: [EventID: Date] = [:]
            for event in events {
                let seconds = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT min(storedAt) FROM storedTime WHERE documentID = ? AND agent = ? AND startSeq <= ? AND endSeq > ?
                    """), arguments: [id, event.agent.name, event.seq, event.seq])
                if let seconds { times[event] = Date(timeIntervalSince1970: TimeInterval(seconds)) }
            }
            return times
        }
    }
}
