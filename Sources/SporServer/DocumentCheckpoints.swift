import Foundation
import GRDB
import NIOCore
import SporCRDT
import SporProposal
import SporWire

/// The server's own document file of each document's history up to one of its stored
/// batches (table `checkpoint`): what a full replica is rebuilt from, and what a
/// subscriber that has nothing is sent first (SNAPSHOT, protocol 4).
///
/// Why: on long-branched or constantly concurrent histories, replaying every stored
/// batch is the costliest merge there is (Eg-walker retreats and advances each branch
/// many times). A document file carries the texts those batches merge to, so opening
/// it is O(texts); only the batches stored after it are replayed.
///
/// Invariants: a checkpoint is exactly what merging the document's batches with ids
/// up to `throughBatch`, in id order, gives — batches that do not merge left out, as
/// every replica leaves them out — because it is only ever written from such a
/// replica (``rebuild(_:through:db:)``), and stored batches are never changed or
/// deleted. The batch table stays the source of truth: a missing or unreadable
/// checkpoint costs a full replay, nothing else. A newer checkpoint never gives way
/// to an older one.
enum DocumentCheckpoints {
    /// A replica is checkpointed again once this many batches were merged on top of its
    /// checkpoint (or, without one, once the document has this many batches): a
    /// document nobody writes to costs no writes, and a first sync replays at most
    /// this many batches beyond the file.
    static let batchesBetweenCheckpoints = 16

    static let createTable = """
        CREATE TABLE checkpoint (
            documentID TEXT PRIMARY KEY REFERENCES document(id) ON DELETE CASCADE,
            throughBatch INTEGER NOT NULL,
            file BLOB NOT NULL,
            storedTimes TEXT NOT NULL,
            createdAt DATETIME NOT NULL
        ) WITHOUT ROWID;
        """

    /// A full replica of a document's stored history, and where it came from.
    struct Rebuilt {
        var document: Document
        /// The id of the last stored batch it holds (0: none).
        var throughBatch: Int64
        /// When its events were stored (see ``SporMessage/Snapshot/storedTimes``).
        var storedTimes: [SporMessage.StoredTimeRun]
        /// Batches merged on top of the checkpoint it was opened from (all of them
        /// without one).
        var batchesReplayed: Int
        /// Whether the stored checkpoint did not open and was left aside.
        var checkpointWasDamaged = false
        /// Whether those batches call for a new checkpoint.
        var isDueForCheckpoint: Bool {
            checkpointWasDamaged || batchesReplayed >= DocumentCheckpoints.batchesBetweenCheckpoints
        }
    }

    /// The stored checkpoint of `document`, if any: its file, the batch it covers and
    /// the stored times.
    static func load(_ document: String, db: Database) throws -> (file: [UInt8], throughBatch: Int64, storedTimes: [SporMessage.StoredTimeRun])? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT throughBatch, file, storedTimes FROM checkpoint WHERE documentID = ?
            """), arguments: [document]) else { return nil }
        let file: Data = row["file"]
        return ([UInt8](file), row["throughBatch"], parse(storedTimes: row["storedTimes"]))
    }

    /// A full replica of `document`'s batches with ids up to `through` (all without
    /// it): its checkpoint opened, then the later batches merged in id order as one
    /// change — or, if they do not merge as one, each on its own, leaving out one that
    /// does not merge. A checkpoint that does not open (damaged storage) is ignored:
    /// every batch is merged instead. Cost: O(texts) + the replay of the batches
    /// after the checkpoint.
    static func rebuild(_ document: String, through: Int64? = nil, db: Database) throws -> Rebuilt {
        let agent = ProposalSchema.serverAgent
        var start = Rebuilt(document: Document(agent: agent), throughBatch: 0, storedTimes: [], batchesReplayed: 0)
        if let stored = try load(document, db: db), stored.throughBatch <= through ?? .max {
            if let opened = try? Document(decoding: stored.file, agent: agent) {
                start = Rebuilt(document: opened, throughBatch: stored.throughBatch, storedTimes: stored.storedTimes, batchesReplayed: 0)
            } else {
                start.checkpointWasDamaged = true
            }
        }
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, changes, ranges, storedAt FROM batch WHERE documentID = ? AND id > ? AND id <= ? ORDER BY id
            """, arguments: [document, start.throughBatch, through ?? .max])
        guard let last = rows.last else { return start }
        var rebuilt = start
        let batches = rows.map { row -> [UInt8] in
            let changes: Data = row["changes"]
            return [UInt8](changes)
        }
        if (try? rebuilt.document.merge(encodedChanges: batches)) == nil {
            rebuilt.document = start.document
            for batch in batches { _ = try? rebuilt.document.merge(encodedChanges: batch) }
        }
        for row in rows {
            let storedAt: Date? = row["storedAt"]
            let time = storedAt.map(StoredBatch.storedTime) ?? 0
            for range in StoredBatch.parse(ranges: row["ranges"]) where !range.seqs.isEmpty {
                guard let agent = try? AgentID(range.agent) else { continue }
                append(SporMessage.StoredTimeRun(agent: agent, seqs: range.seqs, storedAt: time), to: &rebuilt.storedTimes)
            }
        }
        rebuilt.throughBatch = last["id"]
        rebuilt.batchesReplayed = rows.count
        return rebuilt
    }

    /// Stores `rebuilt` as `document`'s checkpoint, unless one as new or newer is
    /// stored already (and did not fail to open). O(the document file's size).
    static func save(_ rebuilt: Rebuilt, of document: String, at now: Date = Date(), db: Database) throws {
        try save(file: rebuilt.document.encoded(), of: rebuilt, document: document, at: now, db: db)
    }

    /// ``save(_:of:at:db:)`` with `rebuilt`'s document already encoded as `file`.
    static func save(file: [UInt8], of rebuilt: Rebuilt, document: String, at now: Date = Date(), db: Database) throws {
        guard rebuilt.throughBatch > 0 else { return }
        try db.cachedStatement(sql: """
            INSERT INTO checkpoint (documentID, throughBatch, file, storedTimes, createdAt) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (documentID) DO UPDATE SET throughBatch = excluded.throughBatch, file = excluded.file,
                storedTimes = excluded.storedTimes, createdAt = excluded.createdAt
            WHERE excluded.throughBatch > checkpoint.throughBatch OR ?
            """).execute(arguments: [document, rebuilt.throughBatch, Data(file),
                                     format(storedTimes: rebuilt.storedTimes), now, rebuilt.checkpointWasDamaged])
    }

    /// Adds `run` to `runs`, extending the last run when it continues it at the same
    /// time (one agent typing on within one second of the server's clock).
    static func append(_ run: SporMessage.StoredTimeRun, to runs: inout [SporMessage.StoredTimeRun]) {
        if let last = runs.last, last.agent == run.agent, last.storedAt == run.storedAt, last.seqs.upperBound == run.seqs.lowerBound {
            runs[runs.count - 1].seqs = last.seqs.lowerBound..<run.seqs.upperBound
        } else {
            runs.append(run)
        }
    }

    /// Stored as lines "agent\tstart\tend\tseconds", like a batch's ranges.
    static func format(storedTimes runs: [SporMessage.StoredTimeRun]) -> String {
        runs.map { "\($0.agent.name)\t\($0.seqs.lowerBound)\t\($0.seqs.upperBound)\t\($0.storedAt)" }.joined(separator: "\n")
    }

    static func parse(storedTimes text: String) -> [SporMessage.StoredTimeRun] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 4, let agent = try? AgentID(String(fields[0])), let start = Int(fields[1]), let end = Int(fields[2]),
                  start < end, let time = Int64(fields[3]) else { return nil }
            return SporMessage.StoredTimeRun(agent: agent, seqs: start..<end, storedAt: time)
        }
    }
}

/// The start of a catch-up from nothing: the SNAPSHOT frame of a checkpoint and what
/// it covers.
struct CatchUpSnapshot: Sendable {
    /// The encoded SNAPSHOT frame, length prefix included.
    var frame: ByteBuffer
    /// The last batch the file holds: the catch-up goes on after it.
    var throughBatch: Int64
    var storedTimes: [SporMessage.StoredTimeRun]
}

extension SporStore {
    /// The SNAPSHOT to start a catch-up of `document` from nothing with, covering
    /// batches up to `through` at most: its checkpoint — first rebuilt and stored if
    /// ``DocumentCheckpoints/batchesBetweenCheckpoints`` batches up to `through` came
    /// after it. Nil (send the batches instead) when the document has fewer batches
    /// than that and no checkpoint, or when the frame would exceed `maxFrameBytes`.
    func catchUpSnapshot(of document: String, through: Int64, maxFrameBytes: Int) async throws -> CatchUpSnapshot? {
        enum Found {
            case stored(file: [UInt8], throughBatch: Int64, storedTimes: [SporMessage.StoredTimeRun])
            case rebuilt(DocumentCheckpoints.Rebuilt)
        }
        let found: Found? = try await pool.read { db in
            // One that does not open (damaged storage) is rebuilt, never sent.
            let stored = try DocumentCheckpoints.load(document, db: db).flatMap {
                $0.throughBatch <= through && (try? Document(decoding: $0.file)) != nil ? $0 : nil
            }
            let newer = try Int.fetchOne(db, sql: "SELECT count(*) FROM batch WHERE documentID = ? AND id > ? AND id <= ?",
                                         arguments: [document, stored?.throughBatch ?? 0, through]) ?? 0
            if newer >= DocumentCheckpoints.batchesBetweenCheckpoints {
                return .rebuilt(try DocumentCheckpoints.rebuild(document, through: through, db: db))
            }
            return stored.map { .stored(file: $0.file, throughBatch: $0.throughBatch, storedTimes: $0.storedTimes) }
        }
        let file: [UInt8], throughBatch: Int64, storedTimes: [SporMessage.StoredTimeRun]
        switch found {
        case nil:
            return nil
        case let .stored(storedFile, storedThrough, times):
            (file, throughBatch, storedTimes) = (storedFile, storedThrough, times)
        case let .rebuilt(rebuilt):
            file = rebuilt.document.encoded()
            (throughBatch, storedTimes) = (rebuilt.throughBatch, rebuilt.storedTimes)
            try await pool.write { db in try DocumentCheckpoints.save(file: file, of: rebuilt, document: document, db: db) }
        }
        let message = SporMessage.snapshot(.init(document: document, file: file, storedTimes: storedTimes))
        let frame = Outbox.encode(message, allocator: ByteBufferAllocator())
        guard frame.readableBytes - SporProtocol.lengthPrefixBytes <= maxFrameBytes else { return nil }
        return CatchUpSnapshot(frame: frame, throughBatch: throughBatch, storedTimes: storedTimes)
    }
}
