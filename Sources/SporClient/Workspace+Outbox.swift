import Foundation
import GRDB
import SporCRDT
import SporProposal

/// One piece of local work the server has not acknowledged yet. Entries are sent
/// in the order they were made and removed only when the server acknowledges them,
/// so a crash, a dropped connection or an unreachable server loses nothing: the next
/// sync sends them again (the server acknowledges a repeated batch without storing
/// it twice).
public struct OutboxEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Create the proposal on the server (the workspace made it offline).
        case create
        /// A change batch of `events` local events.
        case push(changes: [UInt8], events: Int)
        /// Change who is on the proposal (the lead and the secretariat may).
        case member(MembershipChange)
        /// Ask the server to take a process step; it judges the step when the request
        /// arrives, by its own clock (a step queued offline before a deadline and sent
        /// after it is refused).
        case step(StepRequest)
    }

    public let id: Int64
    public let document: String
    public let kind: Kind
    public let createdAt: Date
    /// Why the server refused this entry the last time, if it did.
    public let lastError: String?
}

/// How a change of membership waits in the outbox.
extension MembershipChange {
    /// Stored as "add\tpartner\tORG", "remove\t\tORG", "role\tlead\tORG".
    var stored: String {
        switch self {
        case let .add(organisation, role): "add\t\(role.rawValue)\t\(organisation)"
        case let .remove(organisation): "remove\t\t\(organisation)"
        case let .setRole(organisation, role): "role\t\(role.rawValue)\t\(organisation)"
        }
    }

    init?(stored: String) {
        let parts = stored.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[2].isEmpty else { return nil }
        switch (parts[0], ParticipantRole(rawValue: parts[1])) {
        case let ("add", role?): self = .add(parts[2], role)
        case ("remove", _): self = .remove(parts[2])
        case let ("role", role?): self = .setRole(parts[2], role)
        default: return nil
        }
    }
}

/// A process step waiting in the outbox for the server to take.
public struct StepRequest: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case submitForQualification, submitForApproval, withdraw, recordQualification, recordDecision
    }

    public var kind: Kind
    /// The version to submit: agent → event count (submissions only).
    public var version: [String: Int]
    public var outcome: String
    public var note: String
    public var grantedAmount: Int64?

    public init(kind: Kind, version: [String: Int] = [:], outcome: String = "", note: String = "", grantedAmount: Int64? = nil) {
        self.kind = kind
        self.version = version
        self.outcome = outcome
        self.note = note
        self.grantedAmount = grantedAmount
    }
}

extension Workspace {
    /// The outbox, oldest first.
    public func outbox() throws -> [OutboxEntry] {
        try read { db in try Self.outbox(db) }
    }

    func asyncOutbox() async throws -> [OutboxEntry] {
        try await asyncRead { db in try Self.outbox(db) }
    }

    static func outbox(_ db: Database) throws -> [OutboxEntry] {
        try Row.fetchAll(db, sql: "SELECT id, documentID, kind, bytes, argument, events, createdAt, lastError FROM outbox ORDER BY id")
            .compactMap { row in
                let kind: OutboxEntry.Kind
                switch row["kind"] as String {
                case "create": kind = .create
                case "push":
                    let bytes: Data = row["bytes"] ?? Data()
                    kind = .push(changes: [UInt8](bytes), events: row["events"])
                // Written by workspaces before protocol 2: members were partners.
                case "addMember": kind = .member(.add(row["argument"] ?? "", .partner))
                case "member":
                    guard let request = MembershipChange(stored: row["argument"] ?? "") else { return nil }
                    kind = .member(request)
                case "step":
                    guard let json: String = row["argument"],
                          let request = try? JSONDecoder().decode(StepRequest.self, from: Data(json.utf8)) else { return nil }
                    kind = .step(request)
                default: return nil
                }
                return OutboxEntry(id: row["id"], document: row["documentID"], kind: kind,
                                   createdAt: row["createdAt"], lastError: row["lastError"])
            }
    }

    /// Removes entries the server has acknowledged (or judged, for requests).
    /// Removes outbox entry `entry`, which the server has carried out. `storedAt`: when
    /// the server stored a pushed batch (PUSH_ACK of protocol 3), recorded for its events.
    func acknowledge(_ entry: Int64, storedAt: Int64? = nil) async throws {
        try await asyncWrite { db in
            if let storedAt, storedAt > 0,
               let row = try Row.fetchOne(db, sql: "SELECT documentID, bytes FROM outbox WHERE id = ? AND kind = 'push'", arguments: [entry]),
               let bytes = row["bytes"] as Data? {
                try Self.recordStoredTime(storedAt, of: [UInt8](bytes), document: row["documentID"], db: db)
            }
            try db.execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [entry])
        }
    }

    /// Queues a change of who is on proposal `id`, sent after its earlier changes.
    public func queueMember(_ request: MembershipChange, of id: String, now: Date = Date()) throws {
        try write { db in
            try db.execute(sql: "INSERT INTO outbox (documentID, kind, argument, createdAt) VALUES (?, 'member', ?, ?)",
                           arguments: [id, request.stored, now])
        }
    }

    /// Queues a process step for proposal `id`, sent after its earlier changes.
    public func queueStep(_ request: StepRequest, of id: String, now: Date = Date()) throws {
        let json = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        try write { db in
            try db.execute(sql: "INSERT INTO outbox (documentID, kind, argument, createdAt) VALUES (?, 'step', ?, ?)",
                           arguments: [id, json, now])
        }
    }

    /// Keeps entry `entry` with the server's reason for refusing it (shown by `spor
    /// status`); it stays in the outbox, because it is local work.
    func recordRefusal(of entry: Int64, _ message: String) async throws {
        try await asyncWrite { db in
            try db.execute(sql: "UPDATE outbox SET lastError = ? WHERE id = ?", arguments: [message, entry])
        }
    }

    /// Document `id` as the sync engine keeps it between frames, read (not written) off
    /// the caller's thread; nil if the workspace does not have it.
    func loadForSync(_ id: String, agent: AgentID) async throws -> LoadedDocument? {
        let path = path
        return try await asyncRead { db in try Self.load(id, agent: agent, db: db, path: path) }
    }

    /// Merges change batches the server sent for document `id` (creating the
    /// document if the workspace has not seen it) and stores those that brought new
    /// events, in one transaction. `cached` is the state the caller loaded earlier;
    /// it is reused if no other process wrote the document since, else reloaded.
    ///
    /// Throws `CRDTError` — storing nothing — if a batch does not merge: bytes from
    /// the network are checked before they reach the workspace.
    func mergeFromServer(_ id: String, batches: [[UInt8]], storedAt: [Int64]? = nil, cached: LoadedDocument?, agent: AgentID,
                         compactNow: Bool = false, checkOwnEvents: Bool = true,
                         now: Date = Date()) async throws -> (LoadedDocument, newEvents: Int, repairs: [ForkRepair]) {
        let path = path
        return try await asyncWrite { db in
            var loaded = try Self.loadOrCreate(id, cached: cached, agent: agent, db: db, path: path, now: now)
            let before = loaded.document.eventCount
            var repairs: [ForkRepair] = []
            for (index, batch) in batches.enumerated() {
                // Events under this workspace's own agents that it did not make: a copy
                // or a restored backup. Repaired before anything is merged on them.
                // (A document the sync is fetching whole has no events of its own to compare.)
                if checkOwnEvents, let repair = try Self.repairFork(of: id, before: batch, loaded: &loaded, db: db) {
                    repairs.append(repair)
                }
                let added = try loaded.document.merge(encodedChanges: batch)
                // Also for a batch that added nothing: it may be this workspace's own
                // push coming back after its acknowledgement was lost.
                if let storedAt, index < storedAt.count {
                    try Self.recordStoredTime(storedAt[index], of: batch, document: id, db: db)
                }
                guard added > 0 else { continue }
                try db.execute(sql: "INSERT INTO change (documentID, bytes, origin) VALUES (?, ?, 'server')", arguments: [id, Data(batch)])
                loaded.lastChange = db.lastInsertedRowID
                loaded.pendingRows += 1
                loaded.pendingBytes += batch.count
            }
            let newEvents = loaded.document.eventCount - before
            if newEvents > 0 || (compactNow && loaded.pendingRows > 0) {
                try Self.storeState(of: &loaded, id: id, db: db, now: now, forceSnapshot: compactNow)
            }
            return (loaded, newEvents, repairs)
        }
    }
}

extension Workspace {
    /// Document `id` as stored: `cached` if it is still current, else loaded; a new,
    /// empty document (stored) if the workspace does not have it.
    static func loadOrCreate(_ id: String, cached: LoadedDocument?, agent: AgentID, db: Database, path: String,
                             now: Date) throws -> LoadedDocument {
        let newest = try Int64.fetchOne(db, sql: "SELECT max(id) FROM change WHERE documentID = ?", arguments: [id])
        let snapshotChange = try Int64.fetchOne(db, sql: "SELECT snapshotChange FROM document WHERE id = ?", arguments: [id])
        if let cached, let snapshotChange, max(newest ?? 0, snapshotChange) == cached.lastChange {
            return cached
        }
        if let existing = try Self.load(id, agent: agent, db: db, path: path) { return existing }
        let empty = Document(agent: agent).encoded()
        try db.execute(sql: "INSERT INTO document (id, snapshot, snapshotChange, updatedAt) VALUES (?, ?, 0, ?)",
                       arguments: [id, Data(empty), now])
        return LoadedDocument(document: try Document(decoding: empty, agent: agent), lastChange: 0,
                              snapshotBytes: empty.count, pendingRows: 0, pendingBytes: 0)
    }
}

extension StepRequest.Kind {
    /// What the step does, as a phrase for messages ("submitting for the approval process").
    public var activity: String { SyncSession.describe(self) }
}
