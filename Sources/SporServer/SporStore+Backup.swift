import Foundation
import GRDB

/// A consistent copy of the whole store taken while the server runs, and a new data
/// directory made from one.
extension SporStore {
    /// What a backup holds.
    public struct BackupSummary: Sendable, Codable, Equatable {
        public var file: String
        public var bytes: Int
        public var organisations: Int
        public var documents: Int
        public var batches: Int
    }

    /// Writes a consistent copy of the store to `file` (SQLite's online backup, through
    /// GRDB): every transaction committed when the copy began, none after, while the
    /// server goes on serving. The copy is written beside `file` under a temporary
    /// name, checked (`PRAGMA integrity_check`), fsynced, and only then given its name:
    /// a failed or interrupted backup leaves no file named `file`. Refuses a `file`
    /// that exists (`alreadyExists`). The copy is owner-only (0600): it holds every
    /// proposal and the token hashes.
    public func backup(to file: String) throws -> BackupSummary {
        guard !FileManager.default.fileExists(atPath: file) else {
            throw ServerError(.alreadyExists, "\(file) exists; a backup never replaces a file: choose a new name")
        }
        let partial = file + ".partial-\(UUID().uuidString)"
        defer { unlink(partial) }
        let descriptor = open(partial, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServerError(.internalError, "cannot create \(partial): \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        let copy = try DatabaseQueue(path: partial)
        try pool.backup(to: copy)
        let summary = try copy.read { db -> BackupSummary in
            let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard check == ["ok"] else {
                throw ServerError(.internalError, "the copy failed SQLite's integrity check: \(check.prefix(3).joined(separator: "; "))")
            }
            return BackupSummary(file: file, bytes: 0,
                                 organisations: try Int.fetchOne(db, sql: "SELECT count(*) FROM account") ?? 0,
                                 documents: try Int.fetchOne(db, sql: "SELECT count(*) FROM document") ?? 0,
                                 batches: try Int.fetchOne(db, sql: "SELECT count(*) FROM batch") ?? 0)
        }
        try copy.close()
        try Self.fsync(partial)
        // link(2) gives the name only if nothing has it (rename would replace).
        guard link(partial, file) == 0 else {
            throw ServerError(errno == EEXIST ? .alreadyExists : .internalError,
                              "cannot name the backup \(file): \(String(cString: strerror(errno)))")
        }
        try Self.fsync((file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent)
        var result = summary
        result.bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        return result
    }

    /// Makes `directory` a data directory holding the store of `backup`, brought up to
    /// this version's schema, and opens it. Refuses a directory that already has a
    /// store (`alreadyExists`: restoring never overwrites; move the old one aside) and
    /// a file that is not a sound Spor store (`invalidArgument`). The store file is
    /// written under a temporary name and renamed once complete and fsynced.
    public static func restore(backup: String, into directory: String) throws -> SporStore {
        let target = (directory as NSString).appendingPathComponent("spor.sqlite")
        guard !FileManager.default.fileExists(atPath: target) else {
            throw ServerError(.alreadyExists, "\(directory) already has a store; restore into a new directory (or move its spor.sqlite aside first)")
        }
        guard FileManager.default.fileExists(atPath: backup) else {
            throw ServerError(.notFound, "no file \(backup)")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let source = try DatabaseQueue(path: backup, configuration: configuration)
            try source.read { db in
                guard try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"],
                      try db.tableExists("grdb_migrations"), try db.tableExists("account"), try db.tableExists("batch"),
                      try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").contains("v1") else {
                    throw ServerError(.invalidArgument, "\(backup) is not a Spor backup (not a sound store of spor-server)")
                }
            }
            try source.close()
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError(.invalidArgument, "\(backup) is not a Spor backup: \(error)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(directory, 0o700)
        let partial = target + ".partial"
        unlink(partial)
        defer { unlink(partial) }
        try FileManager.default.copyItem(atPath: backup, toPath: partial)
        chmod(partial, 0o600)
        try fsync(partial)
        guard rename(partial, target) == 0 else {
            throw ServerError(.internalError, "cannot move the restored store into place: \(String(cString: strerror(errno)))")
        }
        try fsync(directory)
        return try SporStore(directory: directory)
    }

    /// fsync(2) of a file or directory.
    static func fsync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ServerError(.internalError, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else { throw ServerError(.internalError, "cannot fsync \(path): \(String(cString: strerror(errno)))") }
    }
}
