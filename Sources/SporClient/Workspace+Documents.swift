import Foundation
import GRDB
import SporCRDT
import SporProposal

/// A proposal as `spor list` shows it, read without opening its document.
public struct ProposalSummary: Sendable, Hashable {
    public let id: String
    public let title: String
    public let eventCount: Int
    /// Outbox entries the server has not acknowledged yet (changes, the creation,
    /// membership and step requests): the same count as `spor status`.
    public let unsyncedChanges: Int
    /// False until the server has acknowledged creating the proposal.
    public let onServer: Bool
    public let updatedAt: Date
    /// When the server said the organisation no longer has access (it was removed
    /// from the proposal); the local copy stays, nothing syncs any more.
    public let accessEndedAt: Date?
}

/// A document loaded for merging server batches, with the last change row it
/// includes: the sync engine keeps it between frames and reloads only when another
/// process (the editor) wrote meanwhile.
struct LoadedDocument: Sendable {
    var document: Document
    var lastChange: Int64
    var snapshotBytes: Int
    var pendingRows: Int
    var pendingBytes: Int
}

extension Workspace {
    /// Length of the random part of new proposal ids: 10 characters of a 32-letter
    /// alphabet (50 bits).
    static let proposalIDLength = 10

    /// The most events one outbox entry pushes: half of what a server accepts in one
    /// batch by default (`maxBatchEvents`, 100,000), so that even a dense batch stays
    /// well within its frame limit.
    static let maxEventsPerPush = 50_000

    /// A new proposal id: "<organisation id>.<random>", as protocol 2 servers require.
    static func newProposalID(organisation: String) -> String {
        "\(organisation).\(randomID(length: proposalIDLength))"
    }

    /// Whether `id` is in `organisation`'s namespace (ids made before protocol 2 are not).
    static func isNamespaced(_ id: String, organisation: String) -> Bool {
        id.hasPrefix(organisation + ".") && id.count > organisation.count + 1
    }

    /// Gives proposal `id`, which the server does not have yet, the id `newID`: its
    /// document, changes and outbox entries move in one transaction. For proposals
    /// made before protocol 2, whose ids the server no longer accepts.
    func renameUnsharedProposal(_ id: String, to newID: String) async throws {
        try await asyncWrite { db in
            try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
            try db.execute(sql: "UPDATE document SET id = ? WHERE id = ?", arguments: [newID, id])
            try db.execute(sql: "UPDATE change SET documentID = ? WHERE documentID = ?", arguments: [newID, id])
            try db.execute(sql: "UPDATE outbox SET documentID = ? WHERE documentID = ?", arguments: [newID, id])
            try db.execute(sql: "UPDATE storedTime SET documentID = ? WHERE documentID = ?", arguments: [newID, id])
        }
    }

    // MARK: - Reading

    /// Every proposal in the workspace, newest change first.
    public func proposals() throws -> [ProposalSummary] {
        try read { db in try Self.summaries(db) }
    }

    func asyncProposals() async throws -> [ProposalSummary] {
        try await asyncRead { db in try Self.summaries(db) }
    }

    static func summaries(_ db: Database) throws -> [ProposalSummary] {
        // Every entry waiting for the server counts (changes, creation, membership and
        // step requests): the number `spor status` shows too.
        let unsynced = try Row.fetchAll(db, sql: "SELECT documentID, count(*) AS n FROM outbox GROUP BY documentID")
        let created = Set(try String.fetchAll(db, sql: "SELECT documentID FROM outbox WHERE kind = 'create'"))
        var counts: [String: Int] = [:]
        for row in unsynced { counts[row["documentID"]] = row["n"] }
        return try Row.fetchAll(db, sql: "SELECT id, title, eventCount, updatedAt, accessEndedAt FROM document ORDER BY updatedAt DESC, id")
            .map { row in
                let id: String = row["id"]
                return ProposalSummary(id: id, title: row["title"], eventCount: row["eventCount"],
                                       unsyncedChanges: counts[id] ?? 0, onServer: !created.contains(id), updatedAt: row["updatedAt"],
                                       accessEndedAt: row["accessEndedAt"])
            }
    }

    /// Records that the server ended this organisation's access to proposal `id`.
    func markAccessEnded(_ id: String, now: Date = Date()) async throws {
        try await asyncWrite { db in
            try db.execute(sql: "UPDATE document SET accessEndedAt = ? WHERE id = ? AND accessEndedAt IS NULL", arguments: [now, id])
        }
    }

    /// Clears an ended access: the server lists the proposal for this organisation again.
    func clearAccessEnded(_ id: String) async throws {
        try await asyncWrite { db in
            try db.execute(sql: "UPDATE document SET accessEndedAt = NULL WHERE id = ? AND accessEndedAt IS NOT NULL", arguments: [id])
        }
    }

    /// The id of the proposal `text` names: its full id or an unambiguous prefix of
    /// at least 3 characters. Throws `unknownProposal` listing the proposals there
    /// are, or `ambiguousProposal` listing the candidates.
    public func resolveProposalID(_ text: String) throws -> String {
        let ids = try read { db in try String.fetchAll(db, sql: "SELECT id FROM document ORDER BY id") }
        if ids.contains(text) { return text }
        let matches = text.count >= 3 ? ids.filter { $0.hasPrefix(text) } : []
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            throw WorkspaceError(.ambiguousProposal, "\(String(reflecting: text)) matches several proposals: \(matches.joined(separator: ", "))",
                                 hint: "Type more of the id.", danish: "\(String(reflecting: text)) passer på flere forslag: \(matches.joined(separator: ", "))", danishHint: "Skriv mere af id'et.")
        }
        let known = ids.isEmpty ? "the workspace has no proposals yet (`spor new TITLE`, or `spor sync` to fetch them)"
                                : "proposals here: \(ids.joined(separator: ", "))"
        let danishKnown = ids.isEmpty ? "arbejdsområdet har endnu ingen forslag (`spor new TITEL`, eller `spor sync` for at hente dem)"
                                      : "forslag her: \(ids.joined(separator: ", "))"
        throw WorkspaceError(.unknownProposal, "there is no proposal \(String(reflecting: text)) in this workspace; \(known)",
                             hint: ids.isEmpty ? "" : "`spor list` shows their titles.", danish: "der er intet forslag \(String(reflecting: text)) i dette arbejdsområde; \(danishKnown)", danishHint: ids.isEmpty ? "" : "`spor list` viser deres titler.")
    }

    /// The document of proposal `id` as this workspace has it now.
    public func document(_ id: String) throws -> Document {
        try document(id, agent: try identity().agent)
    }

    private func document(_ id: String, agent: AgentID) throws -> Document {
        try read { db in
            guard let loaded = try Self.load(id, agent: agent, db: db, path: path) else {
                throw WorkspaceError(.unknownProposal, "there is no proposal \(String(reflecting: id)) in this workspace", danish: "der er intet forslag \(String(reflecting: id)) i dette arbejdsområde")
            }
            return loaded.document
        }
    }

    /// Proposal `id`, to read or to pass to ``change(_:_:)``.
    public func proposal(_ id: String) throws -> Proposal {
        let identity = try identity()
        return Proposal(document: try document(id, agent: identity.agent), actor: identity.actor)
    }

    // MARK: - Changing

    /// Creates a proposal titled `title` for `roundID` and queues it for the server;
    /// returns its new id. Durable when it returns.
    public func createProposal(title: String, roundID: String?, calendar: RoundCalendar = .builtIn, now: Date = Date()) throws -> String {
        let identity = try identity()
        var proposal = try Proposal.create(agent: identity.agent, actor: identity.actor, title: title,
                                           roundID: roundID, calendar: calendar)
        try proposal.recordSave(from: 0, at: now)
        let bytes = try proposal.document.encodedChanges()
        let content = try proposal.content()
        return try write { db in
            // In the organisation's namespace on the server: ids never collide with
            // another organisation's, so creating one tells nothing about theirs.
            var id = Self.newProposalID(organisation: identity.organisation)
            while try Bool.fetchOne(db, sql: "SELECT 1 FROM document WHERE id = ?", arguments: [id]) == true {
                id = Self.newProposalID(organisation: identity.organisation)
            }
            try db.execute(sql: "INSERT INTO document (id, snapshot, title, eventCount, updatedAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, Data(proposal.document.encoded()), content.title, proposal.document.eventCount, now])
            try db.execute(sql: "INSERT INTO outbox (documentID, kind, createdAt) VALUES (?, 'create', ?)", arguments: [id, now])
            try db.execute(sql: "INSERT INTO outbox (documentID, kind, bytes, events, createdAt) VALUES (?, 'push', ?, ?, ?)",
                           arguments: [id, Data(bytes), proposal.document.eventCount, now])
            return id
        }
    }

    /// Changes proposal `id` with `body` as one durable, all-or-nothing change, and
    /// returns `body`'s result.
    ///
    /// The document is read and written inside one IMMEDIATE transaction, so changes
    /// merged meanwhile by a sync in another process are the base of this one, never
    /// overwritten. The new events are stored as a change batch and queued in the
    /// outbox for the server, with the time of the save (`now`) recorded in the
    /// document. If `body` throws (a ``ProposalError`` for refused input), nothing is
    /// written. If `body` changes nothing, nothing is written either.
    ///
    /// Cost: O(history) to open the document (snapshot + batches since) and O(change)
    /// to store; the snapshot is rewritten only when the batches since it outgrow it.
    @discardableResult
    public func change<Result>(_ id: String, now: Date = Date(),
                               _ body: (inout Proposal) throws -> Result) throws -> Result {
        let identity = try identity()
        let path = path
        return try write { db in
            guard var loaded = try Self.load(id, agent: identity.agent, db: db, path: path) else {
                throw WorkspaceError(.unknownProposal, "there is no proposal \(String(reflecting: id)) in this workspace", danish: "der er intet forslag \(String(reflecting: id)) i dette arbejdsområde")
            }
            var proposal = Proposal(document: loaded.document, actor: identity.actor)
            let before = proposal.document.versionVector
            let result = try body(&proposal)
            guard proposal.document.eventCount > loaded.document.eventCount else { return result }
            // The save's time, by this machine's clock, as the save's last write (``Proposal/saves()``).
            try proposal.recordSave(from: before[identity.agent], at: now)
            let added = proposal.document.eventCount - loaded.document.eventCount
            let bytes = try proposal.document.encodedChanges(since: before)
            try db.execute(sql: "INSERT INTO change (documentID, bytes, origin) VALUES (?, ?, 'local')", arguments: [id, Data(bytes)])
            loaded.lastChange = db.lastInsertedRowID
            loaded.pendingRows += 1
            loaded.pendingBytes += bytes.count
            // A large edit (a long section pasted at once) goes to the server as several
            // batches, each within what a server accepts in one, in an order it can merge.
            let pushes = added <= Self.maxEventsPerPush ? [bytes]
                : try proposal.document.encodedChanges(since: before, maxEventsPerBatch: Self.maxEventsPerPush)
            for push in pushes {
                let events = pushes.count == 1 ? added : try ChangeSummary(encodedChanges: push).eventCount
                try db.execute(sql: "INSERT INTO outbox (documentID, kind, bytes, events, createdAt) VALUES (?, 'push', ?, ?, ?)",
                               arguments: [id, Data(push), events, now])
            }
            loaded.document = proposal.document
            try Self.storeState(of: &loaded, id: id, db: db, now: now, forceSnapshot: false)
            return result
        }
    }

    /// Stores `document` as proposal `id` without queueing anything for the server:
    /// for seeding a workspace with a document file made elsewhere (benchmarks, a
    /// restored copy). Its events reach the server only if a workspace that made them
    /// pushes them. Replaces nothing: throws if `id` exists.
    public func importDocument(_ document: Document, as id: String, now: Date = Date()) throws {
        let bytes = document.encoded()
        let title = document.text(ProposalSchema.text(of: .title))
        try write { db in
            try db.execute(sql: "INSERT INTO document (id, snapshot, title, eventCount, updatedAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, Data(bytes), title, document.eventCount, now])
        }
    }

    /// Folds proposal `id`'s change batches into a new snapshot, so that opening it
    /// reads one file. Does nothing if there are none.
    public func compact(_ id: String, now: Date = Date()) throws {
        let agent = try identity().agent
        let path = path
        try write { db in
            guard var loaded = try Self.load(id, agent: agent, db: db, path: path), loaded.pendingRows > 0 else { return }
            try Self.storeState(of: &loaded, id: id, db: db, now: now, forceSnapshot: true)
        }
    }

    // MARK: - Storage of document state

    /// Reads document `id`: its snapshot and the change batches after it, merged.
    /// Throws `damaged` (naming the document) if the stored bytes do not decode.
    static func load(_ id: String, agent: AgentID, db: Database, path: String) throws -> LoadedDocument? {
        guard let row = try Row.fetchOne(db, sql: "SELECT snapshot, snapshotChange FROM document WHERE id = ?", arguments: [id]) else {
            return nil
        }
        let snapshot: Data = row["snapshot"]
        var loaded: LoadedDocument
        do {
            loaded = LoadedDocument(document: try Document(decoding: [UInt8](snapshot), agent: agent),
                                    lastChange: row["snapshotChange"], snapshotBytes: snapshot.count, pendingRows: 0, pendingBytes: 0)
        } catch {
            throw damaged(path, "the stored state of proposal \(id) does not decode (\(error))")
        }
        let changes = try Row.fetchCursor(db, sql: "SELECT id, bytes FROM change WHERE documentID = ? AND id > ? ORDER BY id",
                                          arguments: [id, loaded.lastChange])
        while let change = try changes.next() {
            let bytes: Data = change["bytes"]
            do {
                _ = try loaded.document.merge(encodedChanges: [UInt8](bytes))
            } catch {
                throw damaged(path, "a stored change of proposal \(id) does not merge (\(error))")
            }
            loaded.lastChange = change["id"]
            loaded.pendingRows += 1
            loaded.pendingBytes += bytes.count
        }
        return loaded
    }

    /// Updates document `id`'s row after new batches: its title and event count, and —
    /// when the batches since the snapshot outgrow it (more than 64 of them, or more
    /// bytes than half the snapshot and 64 KiB), or when `forceSnapshot` — a new
    /// snapshot replacing them. Snapshots thus grow geometrically: storing N events
    /// costs O(N) in total.
    static func storeState(of loaded: inout LoadedDocument, id: String, db: Database, now: Date, forceSnapshot: Bool) throws {
        let title = loaded.document.text(ProposalSchema.text(of: .title))
        let compact = forceSnapshot || loaded.pendingRows > 64
            || loaded.pendingBytes > max(64 * 1024, loaded.snapshotBytes / 2)
        if compact {
            let snapshot = loaded.document.encoded()
            try db.execute(sql: "UPDATE document SET snapshot = ?, snapshotChange = ?, title = ?, eventCount = ?, updatedAt = ? WHERE id = ?",
                           arguments: [Data(snapshot), loaded.lastChange, title, loaded.document.eventCount, now, id])
            try db.execute(sql: "DELETE FROM change WHERE documentID = ? AND id <= ?", arguments: [id, loaded.lastChange])
            loaded.snapshotBytes = snapshot.count
            loaded.pendingRows = 0
            loaded.pendingBytes = 0
        } else {
            try db.execute(sql: "UPDATE document SET title = ?, eventCount = ?, updatedAt = ? WHERE id = ?",
                           arguments: [title, loaded.document.eventCount, now, id])
        }
    }
}
