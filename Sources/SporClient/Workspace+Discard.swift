import Foundation
import GRDB
import SporDocuments
import SporProposal

/// What ``Workspace/discardUnsyncedChanges(of:savingTo:now:)`` did.
public struct DiscardResult: Sendable, Hashable {
    /// The outbox entries dropped (changes, requests, the creation).
    public let entries: Int
    /// Whether the server has the proposal (the next sync fetches it again); false for
    /// a proposal made offline and never created there, which is gone.
    public let onServer: Bool
    /// The proposal as this workspace had it, as Markdown, saved before anything was
    /// dropped.
    public let savedCopy: String
}

extension Workspace {
    /// The way out of a change the server refuses and everything queued after it:
    /// drops proposal `id`'s outbox entries and the local state they belong to, after
    /// saving the proposal as this workspace has it (Markdown, with open comments) to
    /// `directory`. A proposal the server has is fetched again, whole, by the next
    /// sync; what the partners see is never touched.
    ///
    /// Takes the sync lock (a running `spor sync --watch` holds the document's state):
    /// throws `syncRunning` while a sync runs, `unknownProposal` for an unknown id.
    /// All or nothing: the copy is written first, then one transaction drops the rest.
    public func discardUnsyncedChanges(of id: String, savingTo directory: String, now: Date = Date()) throws -> DiscardResult {
        let lock = try SyncLock(workspace: self)
        defer { withExtendedLifetime(lock) {} }
        let content = try proposal(id).content()
        let stamp = Self.fileStamp(now)
        let file = (directory as NSString).appendingPathComponent("\(id)-\(stamp).md")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let markdown = content.markdown(ExportOptions(language: .danish, includeOpenComments: true, now: now))
            try Data(markdown.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw WorkspaceError(.cannotWrite, "cannot save a copy of proposal \(id) to \(file): \(error.localizedDescription)",
                                 hint: "Nothing was discarded.", danish: "kan ikke gemme en kopi af forslaget \(id) i \(file): \(error.localizedDescription)", danishHint: "Intet blev kasseret.")
        }
        return try write { db in
            let entries = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE documentID = ?", arguments: [id]) ?? 0
            let created = try Bool.fetchOne(db, sql: "SELECT 1 FROM outbox WHERE documentID = ? AND kind = 'create'", arguments: [id]) != true
            try db.execute(sql: "DELETE FROM outbox WHERE documentID = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM change WHERE documentID = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM storedTime WHERE documentID = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM document WHERE id = ?", arguments: [id])
            return DiscardResult(entries: entries, onServer: created, savedCopy: file)
        }
    }

    /// "20240301-142500" in UTC, for file names.
    static func fileStamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02d-%02d%02d%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                      parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }
}
