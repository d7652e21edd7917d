import Foundation
import SporProposal
import SporWire

/// What the server keeps, whichever database keeps it: accounts and their token
/// hashes, the process rounds and the audit log — the part of the store the admin
/// commands and authentication use. ``SporStore`` keeps it in the embedded SQLite
/// database of a data directory, ``PostgresStore`` in a PostgreSQL database that
/// several server instances share.
///
/// Both implementations give the same answers and the same typed errors for the same
/// calls (the store contract tests run each test against both): `alreadyExists` for a
/// taken name, code or round id, `notFound` for an unknown organisation or round,
/// `invalidArgument` for what ``AccountRules`` and ``SporStore/wireProblem(of:)``
/// refuse. Every change is recorded in the audit log in the same transaction.
public protocol ServerStore: AnyObject, Sendable {
    /// Where the data is, for messages: the SQLite file, or the PostgreSQL URL without
    /// its password.
    var location: String { get }

    /// Reads a page of the store: throws when the database does not answer (`/readyz`).
    func checkReadable() async throws

    /// Creates an account and returns it with its access token — the only time the
    /// token exists in clear.
    func addAccount(name: String, kind: AccountKind, code: String?, now: Date, by actor: String) async throws -> (Account, token: String)
    /// Every account, oldest first.
    func accounts() async throws -> [Account]
    /// The account `id`, or `notFound`.
    func account(id: String) async throws -> Account
    /// The live (not revoked) account holding `token`, nil if there is none.
    func account(forToken token: String) async throws -> Account?
    /// Revokes `id`'s token; `invalidArgument` if it already is.
    func revoke(id: String, now: Date, by actor: String) async throws
    /// Replaces `id`'s token (reinstating a revoked account) and returns the new one.
    func rotateToken(id: String, now: Date, by actor: String) async throws -> String
    /// Whether any secretariat account exists.
    func hasSecretariat() async throws -> Bool

    /// The built-in rounds followed by those added here, and stored rounds no client
    /// could read.
    func storedRounds() async throws -> (calendar: RoundCalendar, unreadable: [SporStore.UnreadableRound])
    /// Adds a round after checking it against the calendar and the protocol's limits.
    func addRound(_ round: Round, now: Date, by actor: String) async throws
    /// Removes a round added here; built-in rounds cannot be removed.
    func removeRound(id: String, now: Date, by actor: String) async throws

    /// The latest `limit` audit entries, oldest first.
    func auditEntries(limit: Int) async throws -> [AuditEntry]
}

extension SporStore: ServerStore {
    public var location: String { path }
}
