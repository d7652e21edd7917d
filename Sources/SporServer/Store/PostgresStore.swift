import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SporProposal

/// The server's durable state in a PostgreSQL database that several `spor-server`
/// instances share (``ServerStore``): the same accounts, rounds and audit log as the
/// embedded ``SporStore``, with PostgreSQL's transactions and locks in place of the
/// single SQLite writer.
///
/// Durability is PostgreSQL's: a call returns after its transaction has committed,
/// i.e. after the primary flushed its WAL (`synchronous_commit`, on by default; and on
/// synchronous standbys too if the operator configured any).
///
/// Changes to accounts take a transaction-scoped advisory lock, so that two admin
/// commands, on any hosts, check a name or code and insert it one after the other; the
/// unique constraints stand behind that.
public final class PostgresStore: ServerStore {
    let client: PostgresClient
    let logger: Logger
    /// Runs the client's connection pool until ``close()``.
    private let poolTask: Task<Void, Never>
    public let location: String

    /// Held while accounts change (``PostgresSchema/migrationLock`` + 1).
    static let accountsLock: Int64 = PostgresSchema.migrationLock + 1
    /// How long ``open(_:logger:)`` waits for the database to answer at all.
    static let openTimeout: Duration = .seconds(15)

    private init(client: PostgresClient, location: String, logger: Logger) {
        self.client = client
        self.location = location
        self.logger = logger
        poolTask = Task { await client.run() }
    }

    /// Connects to `location`, brings its schema up to date (``PostgresSchema``) and
    /// returns the store; ``close()`` it when done. Throws `internalError` with the
    /// reason if the database cannot be reached within 15 s, refuses the login, or was
    /// migrated by a newer spor-server.
    public static func open(_ location: PostgresLocation, logger: Logger = defaultLogger) async throws -> PostgresStore {
        let tls: PostgresClient.Configuration.TLS = switch location.tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        // One connection first: the pool retries a failing connection for ever, and
        // says why only in its log. This says why at once (refused, no such host,
        // wrong password, no such database).
        var single = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.username,
                                                      password: location.password, database: location.database,
                                                      tls: location.tls == .disable ? .disable : location.tls == .prefer
                                                          ? .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                                                          : .require(try NIOSSLContext(configuration: .makeClientConfiguration())))
        single.options.connectTimeout = .seconds(10)
        do {
            let connection = try await PostgresConnection.connect(configuration: single, id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw describe(error, location: location.description)
        }
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.username,
                                                         password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        let store = PostgresStore(client: PostgresClient(configuration: configuration, backgroundLogger: logger),
                                  location: location.description, logger: logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await PostgresSchema.migrate(store.client, logger: logger) }
                group.addTask {
                    try await Task.sleep(for: openTimeout)
                    throw ServerError(.internalError, "PostgreSQL at \(location.description) did not answer within 15 s")
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch {
            await store.close()
            throw store.failure(error)
        }
        return store
    }

    /// postgres-nio's messages at notice and above: its connection retries are logged
    /// at info, once a second while the database is away.
    public static var defaultLogger: Logger {
        var logger = Logger(label: "spor.postgres")
        logger.logLevel = .notice
        return logger
    }

    /// Closes every connection; the store cannot be used after.
    public func close() async {
        poolTask.cancel()
        await poolTask.value
    }

    // MARK: Running statements

    /// Runs `body` in one transaction and rethrows what it threw (not postgres-nio's
    /// wrapper), as a ``ServerError``.
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch {
            throw failure(error)
        }
    }

    /// Runs one query outside a transaction and returns all its rows.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            var rows: [PostgresRow] = []
            for try await row in try await client.query(query, logger: logger) { rows.append(row) }
            return rows
        } catch {
            throw failure(error)
        }
    }

    /// `error` as the store reports it: a ``ServerError`` or `ProposalError` as it is
    /// (the same refusals as the SQLite store's); PostgreSQL's own errors as
    /// `internalError` with the server's message (postgres-nio's description hides
    /// it), never a query's parameters.
    func failure(_ error: any Error) -> any Error {
        Self.describe(error, location: location)
    }

    static func describe(_ error: any Error, location: String) -> any Error {
        if error is ServerError || error is ProposalError { return error }
        if let error = error as? PostgresTransactionError {
            return describe(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError
                            ?? ServerError(.internalError, "a PostgreSQL transaction failed"), location: location)
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return ServerError(.internalError, "PostgreSQL at \(location) refused: \(message)\(state)")
            }
            let reason = error.underlying.map { "\($0)" } ?? "\(error.code)"
            return ServerError(.internalError, "PostgreSQL at \(location) cannot be used: \(reason)")
        }
        return ServerError(.internalError, "PostgreSQL at \(location): \(error)")
    }

    // MARK: Health

    public func checkReadable() async throws {
        _ = try await rows("SELECT 1 FROM account LIMIT 1")
    }

    // MARK: Accounts

    public func addAccount(name: String, kind: AccountKind, code: String?, now: Date, by actor: String) async throws -> (Account, token: String) {
        let (trimmed, code) = try AccountRules.validated(name: name, kind: kind, code: code)
        let token = SporStore.newToken()
        let tokenHash = SporStore.hash(token)
        let logger = logger
        let account = try await transaction { connection -> Account in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.accountsLock))", logger: logger)
            if try await Self.exists("SELECT 1 FROM account WHERE name = \(trimmed)", on: connection, logger: logger) {
                throw AccountRules.nameTaken(trimmed)
            }
            if let code, try await Self.exists("SELECT 1 FROM account WHERE code = \(code) OR id = \(code)", on: connection, logger: logger) {
                throw AccountRules.codeTaken(code)
            }
            var id = code ?? AccountRules.defaultID(name: trimmed, kind: kind)
            if code == nil {
                let base = id
                var suffix = 2
                while try await Self.exists("SELECT 1 FROM account WHERE id = \(id)", on: connection, logger: logger) {
                    id = "\(base)-\(suffix)"
                    suffix += 1
                }
            }
            try await connection.query("""
                INSERT INTO account (id, name, kind, code, tokenHash, createdAt)
                VALUES (\(id), \(trimmed), \(kind.rawValue), \(code), \(tokenHash), \(now))
                """, logger: logger)
            try await Self.insert(AuditEntry(at: now, actor: actor, action: .organisationAdded, subject: id,
                                             detail: "\(trimmed) (\(kind.rawValue))"), on: connection, logger: logger)
            return Account(id: id, name: trimmed, kind: kind, code: code, createdAt: now, revokedAt: nil)
        }
        return (account, token)
    }

    public func accounts() async throws -> [Account] {
        try await rows("SELECT \(unescaped: Self.accountColumns) FROM account ORDER BY createdAt, id").map(Self.account(from:))
    }

    public func account(id: String) async throws -> Account {
        guard let row = try await rows("SELECT \(unescaped: Self.accountColumns) FROM account WHERE id = \(id)").first else {
            throw AccountRules.noAccount(id)
        }
        return try Self.account(from: row)
    }

    public func account(forToken token: String) async throws -> Account? {
        let hash = SporStore.hash(token)
        return try await rows("""
            SELECT \(unescaped: Self.accountColumns) FROM account WHERE tokenHash = \(hash) AND revokedAt IS NULL
            """).first.map(Self.account(from:))
    }

    public func revoke(id: String, now: Date, by actor: String) async throws {
        let logger = logger
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.accountsLock))", logger: logger)
            guard let revokedAt = try await Self.revokedAt(of: id, on: connection, logger: logger) else {
                throw AccountRules.noAccount(id)
            }
            guard revokedAt == .none else { throw AccountRules.alreadyRevoked(id) }
            try await connection.query("UPDATE account SET revokedAt = \(now) WHERE id = \(id)", logger: logger)
            try await Self.insert(AuditEntry(at: now, actor: actor, action: .tokenRevoked, subject: id), on: connection, logger: logger)
        }
    }

    public func rotateToken(id: String, now: Date, by actor: String) async throws -> String {
        let token = SporStore.newToken()
        let hash = SporStore.hash(token)
        let logger = logger
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.accountsLock))", logger: logger)
            guard let revokedAt = try await Self.revokedAt(of: id, on: connection, logger: logger) else {
                throw AccountRules.noAccount(id)
            }
            try await connection.query("UPDATE account SET tokenHash = \(hash), revokedAt = NULL WHERE id = \(id)", logger: logger)
            try await Self.insert(AuditEntry(at: now, actor: actor, action: .tokenRotated, subject: id,
                                             detail: revokedAt == .none ? "" : "reinstated"), on: connection, logger: logger)
        }
        return token
    }

    public func hasSecretariat() async throws -> Bool {
        try await !rows("SELECT 1 FROM account WHERE kind = \(AccountKind.secretariat.rawValue) LIMIT 1").isEmpty
    }

    static let accountColumns = "id, name, kind, code, createdAt, revokedAt"

    static func account(from row: PostgresRow) throws -> Account {
        let (id, name, kindName, code, createdAt, revokedAt) = try row.decode((String, String, String, String?, Date, Date?).self)
        guard let kind = AccountKind(rawValue: kindName) else {
            throw ServerError(.internalError, "stored organisation has unknown kind \(kindName)")
        }
        return Account(id: id, name: name, kind: kind, code: code, createdAt: createdAt, revokedAt: revokedAt)
    }

    /// nil: no account `id`; `.some(nil)`: live; `.some(date)`: revoked then. Locks the row.
    private static func revokedAt(of id: String, on connection: PostgresConnection, logger: Logger) async throws -> Date?? {
        for try await revokedAt in try await connection.query("SELECT revokedAt FROM account WHERE id = \(id) FOR UPDATE",
                                                              logger: logger).decode(Date?.self) {
            return .some(revokedAt)
        }
        return nil
    }

    static func exists(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var found = false
        for try await _ in try await connection.query(query, logger: logger) { found = true }
        return found
    }

    // MARK: Rounds

    public func storedRounds() async throws -> (calendar: RoundCalendar, unreadable: [SporStore.UnreadableRound]) {
        let stored = try await rows("SELECT id, json FROM round ORDER BY position").map { row in
            let (id, json) = try row.decode((String, String).self)
            return (id: id, json: json)
        }
        return SporStore.calendar(of: stored)
    }

    public func addRound(_ round: Round, now: Date, by actor: String) async throws {
        if let problem = SporStore.wireProblem(of: round) { throw ServerError(.invalidArgument, problem) }
        let json = String(decoding: try JSONEncoder().encode(round), as: UTF8.self)
        let logger = logger
        try await transaction { connection in
            // Checked against the calendar as it is in this transaction: two rounds
            // added at once on two hosts are checked one after the other.
            try await connection.query("LOCK TABLE round IN EXCLUSIVE MODE", logger: logger)
            var stored: [(id: String, json: String)] = []
            for try await (id, json) in try await connection.query("SELECT id, json FROM round ORDER BY position",
                                                                   logger: logger).decode((String, String).self) {
                stored.append((id, json))
            }
            var calendar = SporStore.calendar(of: stored).calendar
            try calendar.add(round)
            try await connection.query("INSERT INTO round (id, json) VALUES (\(round.id), \(json))", logger: logger)
            try await Self.insert(AuditEntry(at: now, actor: actor, action: .roundAdded, subject: round.id, detail: round.danishName),
                                  on: connection, logger: logger)
        }
    }

    public func removeRound(id: String, now: Date, by actor: String) async throws {
        let logger = logger
        try await transaction { connection in
            // A stored row goes whatever it holds (also an unreadable one under a
            // built-in id); the built-in rounds themselves stay.
            let removed = try await Self.exists("DELETE FROM round WHERE id = \(id) RETURNING id", on: connection, logger: logger)
            guard !removed else {
                return try await Self.insert(AuditEntry(at: now, actor: actor, action: .roundRemoved, subject: id),
                                             on: connection, logger: logger)
            }
            if RoundCalendar.builtIn.rounds.contains(where: { $0.id == id }) {
                throw ServerError(.invalidArgument, "\(id) is a built-in round; it cannot be removed")
            }
            throw ServerError(.notFound, "no round \(String(reflecting: id)) was added on this server")
        }
    }

    // MARK: Audit log

    static func insert(_ entry: AuditEntry, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO auditEntry (at, actor, action, subject, detail)
            VALUES (\(entry.at), \(entry.actor), \(entry.action.rawValue), \(entry.subject), \(entry.detail))
            """, logger: logger)
    }

    public func auditEntries(limit: Int) async throws -> [AuditEntry] {
        try await rows("""
            SELECT id, at, actor, action, subject, detail FROM
                (SELECT * FROM auditEntry ORDER BY id DESC LIMIT \(max(0, limit))) latest ORDER BY id
            """).map { row in
            let (id, at, actor, actionName, subject, detail) = try row.decode((Int64, Date, String, String, String, String).self)
            guard let action = AuditEntry.Action(rawValue: actionName) else {
                throw ServerError(.internalError, "audit entry \(id) has an unknown action \(actionName)")
            }
            var entry = AuditEntry(at: at, actor: actor, action: action, subject: subject, detail: detail)
            entry.id = id
            return entry
        }
    }
}
