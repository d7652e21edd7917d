import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL store's tables, as named migrations applied in order at start-up.
///
/// A migration is never edited once it is on main: a change is a new migration at
/// the end. Each runs in one transaction with the statements of its list (PostgreSQL's
/// DDL is transactional), recorded in `spor_migration` in that transaction, under an
/// advisory lock, so that instances starting together migrate once, one after the
/// other. A database that records a migration this binary does not know (written by a
/// newer spor-server) is refused, not used.
///
/// The tables follow the SQLite store's (``SporStore/migrator``), with PostgreSQL's
/// types, and two things several instances need: every stored batch has a
/// per-document sequence number (`batch.seq`, 1, 2, 3…; `document.lastSeq` is the
/// newest), the order every instance relays a document's batches in; and round rows
/// keep the order they were added in (`round.position`). Identifiers are unquoted, so
/// PostgreSQL folds them to lower case.
enum PostgresSchema {
    /// Held (transaction-scoped) while migrating: an arbitrary constant, "SPOR" in ASCII.
    static let migrationLock: Int64 = 0x5350_4F52

    static let migrations: [(name: String, statements: [String])] = [
        ("pg-v1", [
            """
            CREATE TABLE account (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                code TEXT UNIQUE,
                tokenHash BYTEA NOT NULL UNIQUE,
                createdAt TIMESTAMPTZ NOT NULL,
                revokedAt TIMESTAMPTZ
            )
            """,
            """
            CREATE TABLE document (
                id TEXT PRIMARY KEY,
                createdBy TEXT NOT NULL REFERENCES account(id),
                createdAt TIMESTAMPTZ NOT NULL,
                eventCount BIGINT NOT NULL DEFAULT 0,
                lastSeq BIGINT NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE membership (
                documentID TEXT NOT NULL REFERENCES document(id),
                organisation TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('lead', 'partner', 'observer')),
                addedBy TEXT NOT NULL,
                addedAt TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (documentID, organisation)
            )
            """,
            "CREATE INDEX membership_by_organisation ON membership(organisation)",
            """
            CREATE TABLE batch (
                documentID TEXT NOT NULL REFERENCES document(id),
                seq BIGINT NOT NULL,
                changes BYTEA NOT NULL,
                eventCount INTEGER NOT NULL,
                ranges TEXT NOT NULL,
                accountID TEXT NOT NULL,
                storedAt TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (documentID, seq)
            )
            """,
            """
            CREATE TABLE documentAgent (
                documentID TEXT NOT NULL REFERENCES document(id),
                agent TEXT NOT NULL,
                nextSeq BIGINT NOT NULL,
                PRIMARY KEY (documentID, agent)
            )
            """,
            """
            CREATE TABLE agentSpan (
                documentID TEXT NOT NULL REFERENCES document(id),
                agent TEXT NOT NULL,
                startSeq BIGINT NOT NULL,
                endSeq BIGINT NOT NULL,
                digest BIGINT NOT NULL,
                batchSeq BIGINT NOT NULL,
                PRIMARY KEY (documentID, agent, startSeq)
            )
            """,
            """
            CREATE TABLE round (
                position BIGSERIAL UNIQUE,
                id TEXT PRIMARY KEY,
                json TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE auditEntry (
                id BIGSERIAL PRIMARY KEY,
                at TIMESTAMPTZ NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                subject TEXT NOT NULL,
                detail TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE webhookDelivery (
                id BIGSERIAL PRIMARY KEY,
                endpoint TEXT NOT NULL,
                event TEXT NOT NULL,
                notificationID TEXT NOT NULL,
                payload BYTEA NOT NULL,
                createdAt TIMESTAMPTZ NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                nextAttemptAt TIMESTAMPTZ NOT NULL,
                deliveredAt TIMESTAMPTZ,
                failedAt TIMESTAMPTZ,
                lastError TEXT
            )
            """,
            "CREATE INDEX webhookDeliveryDue ON webhookDelivery (nextAttemptAt) WHERE deliveredAt IS NULL AND failedAt IS NULL",
            """
            CREATE TABLE deadlineReminder (
                documentID TEXT NOT NULL,
                step TEXT NOT NULL,
                daysBefore INTEGER NOT NULL,
                sentAt TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (documentID, step, daysBefore)
            )
            """,
            """
            CREATE TABLE checkpoint (
                documentID TEXT PRIMARY KEY REFERENCES document(id) ON DELETE CASCADE,
                throughSeq BIGINT NOT NULL,
                file BYTEA NOT NULL,
                storedTimes TEXT NOT NULL,
                createdAt TIMESTAMPTZ NOT NULL
            )
            """,
        ]),
    ]

    /// Applies the migrations `client`'s database lacks; returns their names. Throws
    /// `internalError` if the database records a migration this binary does not know.
    @discardableResult
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS spor_migration (name TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL)
                """, logger: logger)
            var applied = Set<String>()
            for try await name in try await connection.query("SELECT name FROM spor_migration", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            let known = Set(migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw ServerError(.internalError, "the PostgreSQL database was migrated by a newer spor-server (migration "
                                  + "\(unknown)); use that version or a newer one")
            }
            var ran: [String] = []
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO spor_migration (name, appliedAt) VALUES (\(migration.name), now())", logger: logger)
                ran.append(migration.name)
            }
            return ran
        }
    }
}
