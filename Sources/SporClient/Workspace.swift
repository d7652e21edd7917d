import CSQLiteOptions
import Foundation
import GRDB
import SporCRDT
import SporProposal
import Synchronization

/// One organisation's local replica: a single SQLite file (`workspace.sqlite` in the
/// workspace directory; WAL, `synchronous=FULL`) holding the server connection, every
/// proposal the workspace has seen, and the outbox of local work the server has not
/// acknowledged yet.
///
/// A document is stored as a snapshot (a SporCRDT document file: its events and the
/// cached state that makes opening fast) plus the change batches appended since, local
/// or from the server. Opening reads the snapshot and merges the few batches after it;
/// ``compact(_:)`` folds batches into a new snapshot.
///
/// Durability: every method that changes the workspace commits one SQLite transaction
/// before it returns (the WAL is fsynced), so a change reported as saved survives a
/// crash or power loss; a failed call — disk full, a refused edit, a kill in the middle
/// — leaves no part of itself behind.
///
/// Several processes may use one workspace (the editor and a running `spor sync
/// --watch`): every change is a read-modify-write inside one IMMEDIATE transaction, so
/// SQLite serialises writers and none overwrites another's work; a writer waits up to
/// ``busyTimeout`` for the others. Only one sync engine runs per workspace
/// (``SyncLock``).
public final class Workspace: Sendable {
    /// How long a call waits for another process's write before giving up with `busy`.
    public static let busyTimeout: TimeInterval = 10

    /// The file name of the database inside the workspace directory.
    public static let fileName = "workspace.sqlite"

    let database: DatabaseQueue
    /// Commits made through this object: how a sync engine sharing it notices new
    /// local work (SQLite's `data_version` only counts other connections' commits).
    let localCommits = Atomic<Int>(0)
    /// The directory of the workspace.
    public let directory: String
    /// The SQLite file.
    public let path: String

    /// Where the workspace lives: `$SPOR_HOME`, else `$XDG_DATA_HOME/spor`, else
    /// `~/.local/share/spor`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["SPOR_HOME"], !home.isEmpty { return home }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return (data as NSString).appendingPathComponent("spor") }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".local/share/spor")
    }

    /// Opens the workspace in `directory`, creating the directory and an empty
    /// workspace if there is none.
    ///
    /// Throws `damaged` — without writing a byte — if the file exists but is not a
    /// Spor workspace SQLite can read, `tooNew` if a newer Spor wrote it, `busy` if
    /// another process holds it for longer than ``busyTimeout``, `cannotWrite` if the
    /// directory cannot be created or written.
    public init(directory: String) throws(WorkspaceError) {
        self.directory = directory
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path) {
            try Self.checkHeader(of: path)
        } else {
            do {
                // The workspace holds the organisation's token: readable by its owner only.
                try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
            } catch {
                throw WorkspaceError(.cannotWrite, "cannot create the workspace directory \(directory): \(error.localizedDescription)",
                                     hint: "Choose another place with SPOR_HOME=DIR.", danish: "kan ikke oprette arbejdsområdets mappe \(directory): \(error.localizedDescription)", danishHint: "Vælg et andet sted med SPOR_HOME=MAPPE.")
            }
        }
        // The workspace holds the organisation's token: its owner only may read the
        // directory and the files — also a directory that existed before (SPOR_HOME
        // made by hand), and -wal/-shm files an earlier version left readable (made
        // owner-only after opening, below). The database file first: SQLite gives the
        // -wal and -shm files it creates that file's mode. (`spor` runs with umask 077.)
        chmod(directory, 0o700)
        chmod(path, 0o600)
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            // Closing must not write: a file found damaged is left exactly as it was.
            // (The WAL is checkpointed as it grows, and is part of the workspace.)
            if let connection = db.sqliteConnection {
                _ = spor_sqlite_disable_checkpoint_on_close(UnsafeMutableRawPointer(connection))
            }
        }
        let path = path
        database = try Self.typedStorage(path: path) { try DatabaseQueue(path: path, configuration: configuration) }
        // An edit reported as saved must survive a power cut: every commit fsyncs the
        // WAL. Set after opening, because GRDB switches a new connection to WAL with
        // `synchronous = NORMAL` after `prepareDatabase` has run (bug 14).
        try Self.typedStorage(path: path) {
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o600) }  // the file too, when it was just created
        try Self.typedStorage(path: path) {
            let migrator = Self.migrator
            if try database.read({ db in try migrator.hasBeenSuperseded(db) }) {
                throw WorkspaceError(.tooNew, "the workspace \(path) was written by a newer version of spor",
                                     hint: "Update spor; this version does not change the file.", danish: "arbejdsområdet \(path) er skrevet af en nyere version af spor", danishHint: "Opdatér spor; denne version ændrer ikke filen.")
            }
            try migrator.migrate(database)
        }
        try Self.typedStorage(path: path) { try Self.checkFileIdentity(path: path, database) }
    }

    /// Refuses a file that exists but cannot be a SQLite database (empty, truncated,
    /// overwritten): opening it would make SQLite start a new database in its place.
    private static func checkHeader(of path: String) throws(WorkspaceError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw WorkspaceError(.cannotWrite, "cannot read the workspace file \(path)", hint: "Check its permissions.", danish: "kan ikke læse arbejdsområdets fil \(path)", danishHint: "Tjek dens rettigheder.")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        guard header == Data("SQLite format 3\u{0}".utf8) else {
            throw damaged(path, "it is not a SQLite database (\(header.isEmpty ? "the file is empty" : "wrong header"))")
        }
    }

    static func damaged(_ path: String, _ reason: String) -> WorkspaceError {
        WorkspaceError(.damaged, "the workspace file \(path) is damaged: \(reason); spor has not changed it",
                       hint: "Keep the file (local changes not yet synced are only in it) and move it aside: "
                           + "mv \(path) \(path).damaged — then `spor setup` and `spor sync` fetch every proposal the "
                           + "server has. `sqlite3 \(path).damaged .recover` may rescue unsynced changes.", danish: "arbejdsområdets fil \(path) er beskadiget: \(reason); spor har ikke ændret den", danishHint: "Behold filen (lokale ændringer, der ikke er synkroniseret, findes kun i den) og flyt den til side: " + "mv \(path) \(path).damaged — så henter `spor setup` og `spor sync` alle forslag, serveren " + "har. `sqlite3 \(path).damaged .recover` kan redde ikke-synkroniserede ændringer.")
    }

    /// Runs `body`, turning SQLite's failures into ``WorkspaceError``s; other errors
    /// (a ``ProposalError`` from an edit) pass through unchanged.
    @discardableResult
    static func storage<T>(path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw translate(error, path: path)
        }
    }

    /// ``storage(path:_:)`` for calls that can only fail in storage.
    static func typedStorage<T>(path: String, _ body: () throws -> T) throws(WorkspaceError) -> T {
        do {
            return try storage(path: path, body)
        } catch let error as WorkspaceError {
            throw error
        } catch {
            throw WorkspaceError(.storage, "workspace \(path): \(error)")
        }
    }

    static func translate(_ error: any Error, path: String) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return damaged(path, error.message ?? "SQLite reports corruption")
        case .SQLITE_FULL:
            return WorkspaceError(.cannotWrite, "the disk is full; the change was not saved (workspace \(path))",
                                  hint: "Free some space and try again; everything saved before is intact.", danish: "disken er fuld; ændringen blev ikke gemt (arbejdsområde \(path))", danishHint: "Frigør plads, og prøv igen; alt, der er gemt før, er intakt.")
        case .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
            return WorkspaceError(.cannotWrite, "cannot write the workspace \(path): \(error.message ?? "\(error.resultCode)")",
                                  hint: "Check that the disk is writable and has space; nothing was changed.", danish: "kan ikke skrive arbejdsområdet \(path): \(error.message ?? "\(error.resultCode)")", danishHint: "Tjek, at disken er skrivbar og har plads; intet blev ændret.")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return WorkspaceError(.busy, "another spor process has held the workspace for over \(Int(busyTimeout)) s",
                                  hint: "Try again when it has finished.", danish: "en anden spor-proces har holdt arbejdsområdet i over \(Int(busyTimeout)) s", danishHint: "Prøv igen, når den er færdig.")
        default:
            return WorkspaceError(.storage, "workspace \(path): \(error.message ?? "\(error.resultCode)")")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let database = database
        return try Self.storage(path: path) { try database.read(body) }
    }

    /// Runs `body` in one IMMEDIATE transaction: it sees no other writer's half-done
    /// work, and commits (fsynced) or rolls back whole.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        let database = database
        let result = try Self.storage(path: path) {
            try database.writeWithoutTransaction { db in try Self.immediateTransaction(db, body) }
        }
        localCommits.add(1, ordering: .relaxed)
        return result
    }

    private static func immediateTransaction<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        var result: T?
        try db.inTransaction(.immediate) {
            result = try body(db)
            return .commit
        }
        guard let result else { throw WorkspaceError(.storage, "transaction ended without a result") }
        return result
    }

    /// ``write(_:)`` off the caller's thread, for the async sync engine.
    func asyncWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.writeWithoutTransaction { db in try Self.immediateTransaction(db, body) }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    func asyncRead<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// A number that changes whenever anyone commits a write — another process
    /// (SQLite's `data_version`) or this object (``localCommits``): how a running sync
    /// engine notices new outbox entries without reading the tables.
    func dataVersion() async throws -> Int {
        let external = try await asyncRead { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        return external &* 1_000_003 &+ localCommits.load(ordering: .relaxed)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE setting (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE document (
                    id TEXT PRIMARY KEY,
                    snapshot BLOB NOT NULL,
                    snapshotChange INTEGER NOT NULL DEFAULT 0,
                    title TEXT NOT NULL DEFAULT '',
                    eventCount INTEGER NOT NULL DEFAULT 0,
                    updatedAt DATETIME NOT NULL
                );
                CREATE TABLE change (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    documentID TEXT NOT NULL REFERENCES document(id),
                    bytes BLOB NOT NULL,
                    origin TEXT NOT NULL
                );
                CREATE INDEX change_by_document ON change(documentID, id);
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    documentID TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    bytes BLOB,
                    argument TEXT,
                    events INTEGER NOT NULL DEFAULT 0,
                    createdAt DATETIME NOT NULL,
                    lastError TEXT
                );
                CREATE INDEX outbox_by_document ON outbox(documentID, id);
                """)
        }
        // Protocol 2: the server can end an organisation's access to a proposal.
        migrator.registerMigration("v2-access-ended") { db in
            try db.execute(sql: "ALTER TABLE document ADD COLUMN accessEndedAt DATETIME")
        }
        // Protocol 3: when the server stored each batch (Workspace+ServerTimes).
        migrator.registerMigration("v3-stored-times") { db in
            try db.execute(sql: """
                CREATE TABLE storedTime (
                    documentID TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    startSeq INTEGER NOT NULL,
                    endSeq INTEGER NOT NULL,
                    storedAt INTEGER NOT NULL
                );
                CREATE INDEX storedTime_by_event ON storedTime(documentID, agent, startSeq);
                """)
        }
        return migrator
    }
}
