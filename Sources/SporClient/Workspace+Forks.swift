import Foundation
import GRDB
import SporCRDT
import SporProposal

/// What a sync found and did when the server had events under one of this
/// workspace's own agents that the workspace did not make: the workspace is a copy
/// of another (its directory was copied) or a restored backup, and both wrote under
/// the same agent.
public struct ForkRepair: Sendable, Hashable {
    public let document: String
    /// The agent both copies used.
    public let agent: String
    /// The agent this workspace writes as from now on.
    public let newAgent: String
    /// The first of `agent`'s events that differed from the server's; nil when the
    /// server only had more of them (nothing of this workspace differed).
    public let divergedAt: Int?
    /// This workspace's own events made again under `newAgent` (to be sent).
    public let reissuedEvents: Int
    /// Queued process steps taken out of the outbox: each named a version with
    /// events that were made again under `newAgent`, and under their old ids the
    /// server has the other copy's events — sent, it would certify content this
    /// workspace never showed. The user submits again.
    public var droppedSteps: [StepRequest.Kind] = []
}

extension Workspace {
    static let retiredAgentsKey = "agent.retired"
    static let fileIdentityKey = "workspace.file"

    /// Takes a new agent if the workspace file is not the file it was (another device
    /// and inode): the directory was copied, or restored from a backup, and the copy
    /// must not write under the agent its original goes on writing under. (A moved
    /// workspace takes one too, which costs nothing.) A copy that keeps the file's
    /// identity — a disk image or a virtual machine restored — is found by the server
    /// instead (``repairFork(of:before:loaded:db:)``). Writes only when the identity
    /// changed or was never recorded.
    static func checkFileIdentity(path: String, _ database: DatabaseQueue) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let identity = "\(info.st_dev):\(info.st_ino)"
        guard try database.read({ db in try settings(db)[fileIdentityKey] }) != identity else { return }
        try database.write { db in
            let stored = try settings(db)[fileIdentityKey]
            guard stored != identity else { return }
            if stored != nil, try ownAgents(db).current != nil { _ = try takeNewAgent(db) }
            try storeSetting(db, fileIdentityKey, identity)
        }
    }

    /// Writes as `agent` again and forgets it was given up: makes this workspace a copy
    /// its original cannot be told from by the file (tests: a restored disk image).
    func adoptAgent(_ agent: AgentID) throws {
        try write { db in
            let (_, retired) = try Self.ownAgents(db)
            try Self.storeSetting(db, Self.retiredAgentsKey, retired.filter { $0 != agent }.map(\.name).joined(separator: "\n"))
            try Self.storeSetting(db, SettingKey.agent, agent.name)
        }
    }

    /// The agents this workspace wrote as: the current one and those it gave up after
    /// finding a copy of itself (newest last).
    static func ownAgents(_ db: Database) throws -> (current: AgentID?, retired: [AgentID]) {
        let values = try settings(db)
        let current = values[SettingKey.agent].flatMap { try? AgentID($0) }
        let retired = (values[retiredAgentsKey] ?? "").split(separator: "\n").compactMap { try? AgentID(String($0)) }
        return (current, retired)
    }

    /// Gives up the current agent (another copy of this workspace writes as it) and
    /// takes a new one with the same organisation prefix. Returns the new agent.
    static func takeNewAgent(_ db: Database) throws -> AgentID {
        let (current, retired) = try ownAgents(db)
        guard let current else { throw WorkspaceError(.notSetUp, "this workspace has no agent yet", danish: "dette arbejdsområde har endnu ingen agent") }
        let name = current.name
        let prefix = name.firstIndex(of: "/").map { String(name[...$0]) } ?? ""
        guard let fresh = try? AgentID(prefix + randomID(length: 10)) else {
            throw WorkspaceError(.storage, "no valid new agent name with prefix \(String(reflecting: prefix))")
        }
        try storeSetting(db, retiredAgentsKey, (retired + [current]).map(\.name).joined(separator: "\n"))
        try storeSetting(db, SettingKey.agent, fresh.name)
        return fresh
    }

    /// The version vector to subscribe to `id` with: what the workspace has, except
    /// that its own agents count only up to their first event still in the outbox —
    /// so the server sends back any events under them it has beyond that, which is
    /// how a copy or a restored backup of this workspace is found before anything is
    /// merged on top of a history the server does not have.
    func subscriptionVector(_ id: String, of document: Document) async throws -> VersionVector {
        try await asyncRead { db in
            var vector = document.versionVector
            let (current, retired) = try Self.ownAgents(db)
            let own = Set(retired + (current.map { [$0] } ?? []))
            for (agent, first) in try Self.outboxFloors(of: id, db) where own.contains(agent) {
                vector[agent] = min(vector[agent], first)
            }
            return vector
        }
    }

    /// Per agent, the first of its events in document `id`'s outbox pushes.
    static func outboxFloors(of id: String, _ db: Database) throws -> [AgentID: Int] {
        var floors: [AgentID: Int] = [:]
        for bytes in try Data.fetchAll(db, sql: "SELECT bytes FROM outbox WHERE documentID = ? AND kind = 'push'", arguments: [id]) {
            guard let summary = try? ChangeSummary(encodedChanges: [UInt8](bytes)) else { continue }
            for run in summary.runs { floors[run.agent] = min(floors[run.agent] ?? .max, run.seqs.lowerBound) }
        }
        return floors
    }

    /// Before a server batch for document `id` is merged: if it carries events under
    /// one of this workspace's own agents, checks them against the workspace's. Events
    /// that differ (another copy made them) mean the workspace's own events from there
    /// are made again under the current agent — a new one if the copy used the current
    /// one — and its outbox for `id` is rewritten to send them; more events than the
    /// workspace has mean the current agent is given up. Returns what it did, or nil.
    /// Runs inside the merge's write transaction; `loaded` is updated in place.
    static func repairFork(of id: String, before batch: [UInt8], loaded: inout LoadedDocument,
                           db: Database) throws -> ForkRepair? {
        let (current, retired) = try ownAgents(db)
        guard let current else { return nil }
        let own = retired + [current]
        let digests = try EventDigests(encodedChanges: batch)
        for agent in own {
            let carried = digests.seqs(of: agent)
            guard !carried.isEmpty else { continue }
            let local = loaded.document.versionVector[agent]
            var divergedAt: Int?
            for seqs in carried {
                let overlap = seqs.lowerBound..<min(seqs.upperBound, local)
                guard !overlap.isEmpty else { continue }
                let mine = try loaded.document.eventDigests(of: agent, seqs: overlap)
                if let seq = mine.firstDifference(from: digests, of: agent, in: overlap) {
                    divergedAt = min(divergedAt ?? seq, seq)
                }
            }
            let serverAhead = carried.contains { $0.upperBound > local }
            guard divergedAt != nil || (serverAhead && agent == current) else { continue }
            let newAgent = agent == current ? try takeNewAgent(db) : current
            guard let from = divergedAt else {
                return ForkRepair(document: id, agent: agent.name, newAgent: newAgent.name, divergedAt: nil, reissuedEvents: 0)
            }
            let ownNames = Set(own.map(\.name) + [newAgent.name])
            let (repaired, reissued) = try loaded.document.reissuing(eventsOf: agent, from: from, as: newAgent,
                                                                     rewriteMapEntry: Proposal.reissuedSaveRecord) { ownNames.contains($0.name) }
            try replaceDocument(id, with: repaired, reissuedFrom: (agent, from), newAgent: newAgent, reissued: reissued,
                                loaded: &loaded, db: db)
            var repair = ForkRepair(document: id, agent: agent.name, newAgent: newAgent.name, divergedAt: from, reissuedEvents: reissued)
            repair.droppedSteps = try dropSteps(of: id, naming: agent, from: from, db: db)
            return repair
        }
        return nil
    }

    /// Removes document `id`'s queued steps whose version names `agent`'s events from
    /// `from` on (re-issued: under those ids the server has other content); returns
    /// their kinds.
    private static func dropSteps(of id: String, naming agent: AgentID, from: Int, db: Database) throws -> [StepRequest.Kind] {
        var dropped: [StepRequest.Kind] = []
        for row in try Row.fetchAll(db, sql: "SELECT id, argument FROM outbox WHERE documentID = ? AND kind = 'step' ORDER BY id",
                                    arguments: [id]) {
            guard let json: String = row["argument"],
                  let step = try? JSONDecoder().decode(StepRequest.self, from: Data(json.utf8)),
                  (step.version[agent.name] ?? 0) > from else { continue }
            try db.execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [row["id"] as Int64])
            dropped.append(step.kind)
        }
        return dropped
    }

    /// Stores `repaired` as document `id` (one snapshot) and replaces its outbox pushes
    /// with the events the server lacks: those the old pushes carried (except `agent`'s
    /// from `from`, which no longer exist) and the re-issued ones. The new pushes go
    /// at the end of the outbox.
    private static func replaceDocument(_ id: String, with repaired: Document, reissuedFrom old: (agent: AgentID, from: Int),
                                        newAgent: AgentID, reissued: Int, loaded: inout LoadedDocument, db: Database) throws {
        var since = repaired.versionVector
        for (agent, first) in try outboxFloors(of: id, db) { since[agent] = min(since[agent], first) }
        since[old.agent] = min(since[old.agent], old.from)
        since[newAgent] = min(since[newAgent], repaired.versionVector[newAgent] - reissued)
        let pushes = try repaired.encodedChanges(since: since, maxEventsPerBatch: maxEventsPerPush)
        try db.execute(sql: "DELETE FROM outbox WHERE documentID = ? AND kind = 'push'", arguments: [id])
        let now = Date()
        for push in pushes {
            let events = try ChangeSummary(encodedChanges: push).eventCount
            try db.execute(sql: "INSERT INTO outbox (documentID, kind, bytes, events, createdAt) VALUES (?, 'push', ?, ?, ?)",
                           arguments: [id, Data(push), events, now])
        }
        let snapshot = repaired.encoded()
        try db.execute(sql: "DELETE FROM change WHERE documentID = ?", arguments: [id])
        try db.execute(sql: "UPDATE document SET snapshot = ?, snapshotChange = ?, eventCount = ?, updatedAt = ? WHERE id = ?",
                       arguments: [Data(snapshot), loaded.lastChange, repaired.eventCount, now, id])
        loaded = LoadedDocument(document: repaired, lastChange: loaded.lastChange, snapshotBytes: snapshot.count,
                                pendingRows: 0, pendingBytes: 0)
    }
}
