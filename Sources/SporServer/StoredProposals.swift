import Foundation
import GRDB
import SporCRDT
import SporProposal

/// One document as a reader outside the sync protocol sees it: its id and the id of
/// its newest stored batch, which changes exactly when something is committed to it
/// (batch ids only grow), so a reader can cache what it computed from the history and
/// recompute only when the head moved.
public struct DocumentHead: Sendable, Hashable {
    public let document: String
    /// The newest batch's id (0 for a document with no batch yet).
    public let lastBatch: Int64
}

/// A document's whole stored history, read in one transaction: its checkpoint (the
/// server's document file of the history up to a batch, ``DocumentCheckpoints``) if
/// it has one, and the batches stored after it.
public struct StoredHistory: Sendable {
    public let document: String
    /// The document file of every batch up to the checkpoint; nil without one.
    public let checkpoint: [UInt8]?
    /// Every batch stored after the checkpoint (all without one), in storage order (a
    /// causal order).
    public let batches: [[UInt8]]
    /// The id of the last stored batch (0 if none): the ``DocumentHead`` it matches.
    public let lastBatch: Int64

    /// The proposal the history makes, as every replica makes it: the checkpoint
    /// opened, then the batches merged as one — or, if they do not merge as one (a
    /// batch stored before the server checked merges), each on its own, one that does
    /// not merge left out. O(texts) + the replay of the batches after the checkpoint.
    public func proposal(actor: Actor) -> Proposal {
        let agent = ProposalSchema.serverAgent
        let start = checkpoint.flatMap { try? Document(decoding: $0, agent: agent) } ?? Document(agent: agent)
        var replica = start
        if (try? replica.merge(encodedChanges: batches)) == nil {
            replica = start
            for batch in batches { _ = try? replica.merge(encodedChanges: batch) }
        }
        return Proposal(document: replica, actor: actor)
    }
}

extension SporStore {
    /// The documents `account` may read — the secretariat every one, a member those it
    /// is a member of: the rule LIST applies — with their heads, by id.
    public func documentHeads(visibleTo account: Account) async throws -> [DocumentHead] {
        try await pool.read { db in
            let rows = account.isSecretariat
                ? try Row.fetchAll(db, sql: """
                    SELECT d.id, (SELECT max(b.id) FROM batch b WHERE b.documentID = d.id) AS head
                    FROM document d ORDER BY d.id
                    """)
                : try Row.fetchAll(db, sql: """
                    SELECT d.id, (SELECT max(b.id) FROM batch b WHERE b.documentID = d.id) AS head
                    FROM document d JOIN membership m ON m.documentID = d.id
                    WHERE m.organisation = ? ORDER BY d.id
                    """, arguments: [account.id])
            return rows.map { DocumentHead(document: $0["id"], lastBatch: $0["head"] ?? 0) }
        }
    }

    /// One document's head (batch 0 for an unknown document). Checks no access.
    public func documentHead(of document: String) async throws -> DocumentHead {
        DocumentHead(document: document, lastBatch: try await lastBatchID(of: document))
    }

    /// `document`'s stored history (empty for an unknown document). Checks no access:
    /// ask ``standing(of:on:)`` first.
    public func storedHistory(of document: String) async throws -> StoredHistory {
        try await pool.read { db in
            var checkpoint = try DocumentCheckpoints.load(document, db: db)
            // A checkpoint that does not open is ignored, as a rebuild ignores it.
            if let file = checkpoint?.file, (try? Document(decoding: file)) == nil { checkpoint = nil }
            let after = checkpoint?.throughBatch ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT id, changes FROM batch WHERE documentID = ? AND id > ? ORDER BY id",
                                        arguments: [document, after])
            let batches = rows.map { row -> [UInt8] in
                let changes: Data = row["changes"]
                return [UInt8](changes)
            }
            return StoredHistory(document: document, checkpoint: checkpoint?.file, batches: batches, lastBatch: rows.last?["id"] ?? after)
        }
    }

    /// The hash under which `token` is stored (SHA-256): what a session may keep
    /// instead of the token itself.
    public static func tokenHash(of token: String) -> Data { hash(token) }

    /// The live (not revoked) account whose token hashes to `tokenHash`: nil once the
    /// token was revoked or rotated.
    public func liveAccount(tokenHash: Data) async throws -> Account? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM account WHERE tokenHash = ? AND revokedAt IS NULL", arguments: [tokenHash])
                .map(Self.account(from:))
        }
    }
}
