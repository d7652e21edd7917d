import Foundation
import GRDB

/// One administrative action, as `spor-server audit` lists it: organisations added,
/// tokens revoked and rotated, rounds added and removed, and the secretariat's
/// qualifications and decisions. Written in the same transaction as the action, so an
/// action is never without its entry nor an entry without its action; never changed or
/// deleted by the server.
public struct AuditEntry: Sendable, Hashable, Codable {
    /// The kinds of action recorded.
    public enum Action: String, Sendable, Codable, CaseIterable {
        case organisationAdded = "organisation.add"
        case tokenRevoked = "token.revoke"
        case tokenRotated = "token.rotate"
        case roundAdded = "round.add"
        case roundRemoved = "round.remove"
        case qualificationRecorded = "proposal.qualify"
        case decisionRecorded = "proposal.decide"
    }

    /// Increasing in the order the actions were committed.
    public var id: Int64?
    /// By the server's clock for process steps, the host's for admin commands.
    public var at: Date
    /// Who: "local admin (root)" for an admin command on the server's host, the
    /// organisation's id for a step taken over the protocol.
    public var actor: String
    public var action: Action
    /// What the action was on: an organisation's id, a round's id, a proposal's id.
    public var subject: String
    /// The rest, for people: a name and kind, a result, an outcome and amount.
    public var detail: String

    public init(at: Date, actor: String, action: Action, subject: String, detail: String = "") {
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }

    /// The actor of an admin command: the user that ran it on the server's host (the
    /// commands work on the data directory, so only a user who can read it can).
    public static var localAdministrator: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "local admin (uid \(geteuid()))" }
        return "local admin (\(String(cString: name)))"
    }

    /// The table (migration `v4-audit`).
    static let createTable = """
        CREATE TABLE auditEntry (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at DATETIME NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL
        )
        """

    /// Appends the entry inside the caller's transaction.
    func insert(_ db: Database) throws {
        try db.execute(sql: "INSERT INTO auditEntry (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                       arguments: [at, actor, action.rawValue, subject, detail])
    }

    init(row: Row) throws {
        guard let action = Action(rawValue: row["action"]) else {
            throw ServerError(.internalError, "audit entry \(row["id"] as Int64? ?? 0) has an unknown action \(String(describing: row["action"] as String?))")
        }
        self.init(at: row["at"], actor: row["actor"], action: action, subject: row["subject"], detail: row["detail"])
        id = row["id"]
    }
}

extension SporStore {
    /// The latest `limit` audit entries, oldest first.
    public func auditEntries(limit: Int = 1000) throws -> [AuditEntry] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM auditEntry ORDER BY id DESC LIMIT ?) ORDER BY id",
                             arguments: [max(0, limit)]).map(AuditEntry.init(row:))
        }
    }
}
