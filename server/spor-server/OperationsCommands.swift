import ArgumentParser
import Foundation
import SporServer

/// `spor-server backup FILE`: a consistent copy of the store while the server runs.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the whole store to FILE while the server runs (consistent, checked, 0600).",
        discussion: """
            The copy holds every transaction committed when it began (SQLite's online backup), \
            is checked with PRAGMA integrity_check and fsynced before it gets its name; an \
            existing FILE is never replaced. Restore with `spor-server restore FILE --data NEWDIR`, \
            then serve NEWDIR (docs/DEPLOYMENT.md).
            """
    )
    @OptionGroup var data: DataOptions
    @Argument(help: "The backup file to write (must not exist).") var file: String
    @Flag(help: "Print a JSON object instead.") var json = false

    func run() throws {
        let store = try reportingFailures { try data.openStore() }
        let summary = try reportingFailures { try store.backup(to: file) }
        if json { return try printJSON(summary) }
        print("Wrote \(summary.file) (\(summary.bytes) bytes): \(summary.organisations) organisations, "
              + "\(summary.documents) proposals, \(summary.batches) change batches.")
    }
}

/// `spor-server restore FILE --data NEWDIR`: a data directory made from a backup.
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new data directory from a backup file (never over an existing store).",
        discussion: """
            Checks that FILE is a sound Spor store, copies it into --data as its spor.sqlite and \
            brings it up to this version's schema. A directory that already has a store is \
            refused: to restore in place, stop the server, move the directory aside, restore, \
            and start the server again. Tokens are those of the backup's time.
            """
    )
    @OptionGroup var data: DataOptions
    @Argument(help: "The backup file (from `spor-server backup`).") var file: String

    func run() throws {
        let directory = data.directory
        let store = try reportingFailures { try SporStore.restore(backup: file, into: directory) }
        let accounts = try reportingFailures { try store.accounts() }
        print("Restored \(file) into \(directory) (\(accounts.count) organisations). Start it with: spor-server serve --data \(directory)")
    }
}

/// `spor-server audit`: the administrative actions, oldest first.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List administrative actions: organisations added, tokens revoked or rotated, rounds, qualifications and decisions.",
        discussion: "One line each, oldest first: time (UTC), who, action, subject, detail."
    )
    @OptionGroup var data: DataOptions
    @Option(help: "Show the latest N entries.") var limit = 100
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let store = try reportingFailures { try data.openStore() }
        let entries = try reportingFailures { try store.auditEntries(limit: limit) }
        if json { return try printJSON(entries) }
        if entries.isEmpty { return print("No administrative actions recorded yet.") }
        let formatter = ISO8601DateFormatter()
        for entry in entries {
            print([formatter.string(from: entry.at), entry.actor, entry.action.rawValue, entry.subject, entry.detail]
                .filter { !$0.isEmpty }.joined(separator: "\t"))
        }
    }
}

/// `spor-server webhooks`: what became of the latest webhook deliveries.
struct Webhooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the latest webhook deliveries: delivered, waiting for a retry, or given up, with the last error.")
    @OptionGroup var data: DataOptions
    @Option(help: "Show the latest N deliveries.") var limit = 50
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let store = try reportingFailures { try data.openStore() }
        let deliveries = try reportingFailures { try store.webhookDeliveries(limit: limit) }
        if json { return try printJSON(deliveries) }
        if deliveries.isEmpty { return print("No webhook deliveries yet.") }
        let formatter = ISO8601DateFormatter()
        for delivery in deliveries {
            let state = delivery.deliveredAt.map { "delivered \(formatter.string(from: $0))" }
                ?? delivery.failedAt.map { "given up \(formatter.string(from: $0))" } ?? "waiting"
            print([delivery.event, delivery.endpoint, state, "attempts \(delivery.attempts)", delivery.lastError ?? ""]
                .filter { !$0.isEmpty }.joined(separator: "\t"))
        }
    }
}
