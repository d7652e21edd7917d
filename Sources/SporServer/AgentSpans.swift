import Foundation
import GRDB
import SporCRDT
import SporWire

/// What the server remembers of each agent's events to tell a repeated event from a
/// different one under the same id: per document and agent, the spans of sequence
/// numbers each stored batch added, with the combined digest of their events
/// (``EventDigests``). Table `agentSpan`; the spans of an agent partition
/// `0..<nextSeq` (its `documentAgent` row).
///
/// A push that repeats events the server has (a lost acknowledgement, a client that
/// pushes from an older version) is compared span by span: whole spans by their
/// stored digest, a span the push covers in part by decoding the one batch that
/// added it. A copied or restored workspace that made other events under the same
/// agent is refused with `historyDiverged`, never taken as duplicates.
///
/// Cost: nothing for a push that repeats no events (the usual case); otherwise one
/// indexed read per agent it repeats, plus at most two batch decodes per agent.
enum AgentSpans {
    /// One stored span: `agent`'s events `seqs`, added by batch `batchID`.
    struct Span {
        let seqs: Range<Int>
        let digest: UInt64
        let batchID: Int64
    }

    static let createTable = """
        CREATE TABLE agentSpan (
            documentID TEXT NOT NULL,
            agent TEXT NOT NULL,
            startSeq INTEGER NOT NULL,
            endSeq INTEGER NOT NULL,
            digest INTEGER NOT NULL,
            batchID INTEGER NOT NULL,
            PRIMARY KEY (documentID, agent, startSeq)
        ) WITHOUT ROWID;
        """

    /// Records that batch `batchID` added `agent`'s events `seqs` with `digest`.
    static func insert(document: String, agent: String, seqs: Range<Int>, digest: UInt64, batchID: Int64, db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO agentSpan (documentID, agent, startSeq, endSeq, digest, batchID) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [document, agent, seqs.lowerBound, seqs.upperBound, Int64(bitPattern: digest), batchID])
    }

    /// The stored spans of `agent` in `document` that overlap `seqs`, in order.
    static func spans(of agent: String, in document: String, overlapping seqs: Range<Int>, db: Database) throws -> [Span] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT startSeq, endSeq, digest, batchID FROM agentSpan
            WHERE documentID = ? AND agent = ? AND endSeq > ? AND startSeq < ? ORDER BY startSeq
            """), arguments: [document, agent, seqs.lowerBound, seqs.upperBound]).map { row in
            let start: Int = row["startSeq"], end: Int = row["endSeq"], digest: Int64 = row["digest"]
            return Span(seqs: start..<end, digest: UInt64(bitPattern: digest), batchID: row["batchID"])
        }
    }

    /// The error for a push whose event `agent`@`seq` differs from the stored one.
    static func diverged(_ agent: String, at seq: Int) -> ServerError {
        ServerError(.historyDiverged, "event \(agent)@\(seq) differs from the event the server has under that id: "
                    + "another copy of this workspace (a copy of its directory, or a restored backup) synced other "
                    + "changes under the same name. Sync again: the workspace takes a new name and sends its own "
                    + "changes again under it")
    }

    /// Checks that every event `digests` carries of `agent` below `known` (events the
    /// document has) is the event stored: compares with the stored spans, and with
    /// `pending` — spans added by earlier pushes of the same transaction, not stored
    /// yet, with those pushes' digests. Throws `historyDiverged`.
    static func checkRepeated(_ digests: EventDigests, agent: AgentID, known: Int, document: String, db: Database,
                              pending: [(seqs: Range<Int>, digests: EventDigests)]) throws {
        for carried in digests.seqs(of: agent) {
            let repeated = carried.lowerBound..<min(carried.upperBound, known)
            guard !repeated.isEmpty else { continue }
            var checked: [Range<Int>] = []
            for span in try spans(of: agent.name, in: document, overlapping: repeated, db: db) {
                let part = span.seqs.clamped(to: repeated)
                guard !part.isEmpty else { continue }
                let stored: UInt64?
                var storedDigests: EventDigests?
                if part == span.seqs {
                    stored = span.digest
                } else {
                    // Part of a span: its batch has the events' digests.
                    storedDigests = try batchDigests(span.batchID, db: db)
                    stored = storedDigests?.digest(of: agent, seqs: part)
                }
                if let stored, stored != digests.digest(of: agent, seqs: part) {
                    let other = try storedDigests ?? batchDigests(span.batchID, db: db)
                    let seq = other.flatMap { digests.firstDifference(from: $0, of: agent, in: part) } ?? part.lowerBound
                    throw diverged(agent.name, at: seq)
                }
                checked.append(part)
            }
            for span in pending {
                let part = span.seqs.clamped(to: repeated)
                guard !part.isEmpty else { continue }
                if span.digests.digest(of: agent, seqs: part) != digests.digest(of: agent, seqs: part) {
                    throw diverged(agent.name, at: digests.firstDifference(from: span.digests, of: agent, in: part) ?? part.lowerBound)
                }
                checked.append(part)
            }
            // Stores from before spans were kept have them all (the migration wrote
            // them); a gap would be a bug, not a reason to take the events unchecked.
            let covered = checked.reduce(0) { $0 + $1.count }
            guard covered >= repeated.count else {
                throw ServerError(.internalError, "the server has no digest of \(agent)'s events \(repeated) in \(document)")
            }
        }
    }

    private static func batchDigests(_ batchID: Int64, db: Database) throws -> EventDigests? {
        guard let bytes = try Data.fetchOne(db, sql: "SELECT changes FROM batch WHERE id = ?", arguments: [batchID]) else { return nil }
        return try? EventDigests(encodedChanges: [UInt8](bytes))
    }

    /// Writes the spans of every stored batch (migration `v3-agent-spans`): per
    /// document, batches in order, the events each added. O(all stored batches).
    static func backfill(_ db: Database) throws {
        for document in try String.fetchAll(db, sql: "SELECT id FROM document ORDER BY id") {
            var known: [String: Int] = [:]
            let batches = try Row.fetchCursor(db, sql: "SELECT id, changes FROM batch WHERE documentID = ? ORDER BY id",
                                              arguments: [document])
            while let row = try batches.next() {
                let bytes: Data = row["changes"]
                let batchID: Int64 = row["id"]
                // Every stored batch was a valid batch when it was stored.
                guard let summary = try? ChangeSummary(encodedChanges: [UInt8](bytes)) else { continue }
                var added: [String: Range<Int>] = [:]
                for run in summary.runs {
                    let agent = run.agent.name
                    let from = added[agent]?.upperBound ?? known[agent] ?? 0
                    guard run.seqs.lowerBound <= from, run.seqs.upperBound > from else { continue }
                    added[agent] = (added[agent]?.lowerBound ?? from)..<run.seqs.upperBound
                }
                for (agent, seqs) in added {
                    guard let id = try? AgentID(agent), let digest = summary.digests.digest(of: id, seqs: seqs) else { continue }
                    try insert(document: document, agent: agent, seqs: seqs, digest: digest, batchID: batchID, db: db)
                    known[agent] = seqs.upperBound
                }
            }
        }
    }
}
