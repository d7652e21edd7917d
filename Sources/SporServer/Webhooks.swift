import Crypto
import Foundation
import GRDB
import SporWire

/// Where the server tells of process steps as they are recorded: an HTTP(S) URL that
/// receives a signed JSON POST per event (`docs/DEPLOYMENT.md`, "Notifications").
public struct WebhookEndpoint: Sendable, Equatable {
    /// What can be told.
    public enum Event: String, Sendable, Codable, CaseIterable {
        case submitted = "proposal.submitted"
        case withdrawn = "proposal.withdrawn"
        case qualified = "proposal.qualified"
        case decided = "proposal.decided"
        /// A submission's deadline is 7 days away, then 1 day (``ServerRecords/remindOfDeadlines()``).
        case deadlineSoon = "proposal.deadlineSoon"
        /// A partner added a comment (``PushCommitter``, when its push is merged).
        case commented = "proposal.commented"
    }

    public let url: URL
    /// The key of the HMAC-SHA256 in `Spor-Signature`; at least 16 bytes.
    public let secret: String
    public let events: Set<Event>

    /// Refuses a URL that is not http or https with a host, and a secret under 16 bytes.
    public init(url text: String, secret: String, events: Set<Event> = Set(Event.allCases)) throws {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
            throw ServerError(.invalidArgument, "a webhook url must be http:// or https:// with a host, not \(String(reflecting: text))")
        }
        guard secret.utf8.count >= 16 else {
            throw ServerError(.invalidArgument, "a webhook secret must be at least 16 bytes (e.g. `openssl rand -hex 32`)")
        }
        guard !events.isEmpty else { throw ServerError(.invalidArgument, "a webhook needs at least one event") }
        self.url = url
        self.secret = secret
        self.events = events
    }

    /// `Spor-Signature`'s value for `body` sent at `timestamp`: `t=<unix seconds>,v1=<hex
    /// HMAC-SHA256 of "<t>.<body>" keyed with the secret>`. A receiver recomputes it and
    /// refuses a mismatch or a timestamp far from its clock (a replay).
    public static func signature(of body: [UInt8], timestamp: Int64, secret: String) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=" + code.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// One event as the JSON a webhook receives. Every key is always present.
public struct WebhookNotification: Sendable, Codable, Equatable {
    /// Unique per event; the same on every retry (`Spor-Delivery`), so a receiver can
    /// drop a repeat.
    public var id: String
    public var event: WebhookEndpoint.Event
    /// When the step was recorded, by the server's clock (ISO 8601, UTC).
    public var at: String
    public var proposal: String
    /// The organisation that took the step (its id).
    public var organisation: String
    /// The step's particulars: `step` and `contentHash` of a submission, `result` of a
    /// qualification, `outcome` and `grantedAmount` (kroner, "" if none) of a decision.
    public var details: [String: String]
}

/// The deliveries still to make, kept in the store with the step that caused them
/// (migration `v5-webhooks`), so a restart or a receiver that is down loses none.
struct WebhookDelivery: Sendable {
    let id: Int64
    let endpoint: String
    let event: String
    let notificationID: String
    let payload: [UInt8]
    let attempts: Int

    static let createTable = """
        CREATE TABLE webhookDelivery (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            endpoint TEXT NOT NULL,
            event TEXT NOT NULL,
            notificationID TEXT NOT NULL,
            payload BLOB NOT NULL,
            createdAt DATETIME NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            nextAttemptAt DATETIME NOT NULL,
            deliveredAt DATETIME,
            failedAt DATETIME,
            lastError TEXT
        );
        CREATE INDEX webhookDeliveryDue ON webhookDelivery (nextAttemptAt) WHERE deliveredAt IS NULL AND failedAt IS NULL;
        CREATE TABLE deadlineReminder (
            documentID TEXT NOT NULL,
            step TEXT NOT NULL,
            daysBefore INTEGER NOT NULL,
            sentAt DATETIME NOT NULL,
            PRIMARY KEY (documentID, step, daysBefore)
        );
        """

    /// One row per endpoint that takes `notification`'s event, written in the caller's
    /// transaction (the step's).
    static func enqueue(_ notification: WebhookNotification, for endpoints: [WebhookEndpoint], at now: Date, _ db: Database) throws {
        let targets = endpoints.filter { $0.events.contains(notification.event) }
        guard !targets.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = try encoder.encode(notification)
        for endpoint in targets {
            try db.execute(sql: """
                INSERT INTO webhookDelivery (endpoint, event, notificationID, payload, createdAt, nextAttemptAt) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [endpoint.url.absoluteString, notification.event.rawValue, notification.id, payload, now, now])
        }
    }
}

/// What became of one webhook delivery (`spor-server webhooks`).
public struct WebhookDeliveryState: Sendable, Codable, Equatable {
    public var endpoint: String
    public var event: String
    public var notificationID: String
    public var attempts: Int
    public var deliveredAt: Date?
    /// Set once the last attempt failed: no more are made.
    public var failedAt: Date?
    public var lastError: String?
}

extension SporStore {
    /// Every document's id.
    func documentIDs() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM document ORDER BY id") }
    }

    /// Records that `document` was reminded of `step`'s deadline `daysBefore` days
    /// ahead and enqueues `notification` (nil: a reminder passed over, because a later
    /// one is due at once), in one transaction; false if that reminder was recorded before.
    func remind(_ document: String, of step: String, daysBefore: Int, notification: WebhookNotification?,
                endpoints: [WebhookEndpoint], at now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO deadlineReminder (documentID, step, daysBefore, sentAt) VALUES (?, ?, ?, ?)",
                           arguments: [document, step, daysBefore, now])
            guard db.changesCount == 1 else { return false }
            if let notification { try WebhookDelivery.enqueue(notification, for: endpoints, at: Date(), db) }
            return notification != nil
        }
    }

    /// Deliveries due at `now`, oldest first.
    func dueWebhookDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, endpoint, event, notificationID, payload, attempts FROM webhookDelivery
                WHERE deliveredAt IS NULL AND failedAt IS NULL AND nextAttemptAt <= ? ORDER BY id LIMIT ?
                """, arguments: [now, limit]).map { row in
                WebhookDelivery(id: row["id"], endpoint: row["endpoint"], event: row["event"], notificationID: row["notificationID"],
                                payload: [UInt8](row["payload"] as Data), attempts: row["attempts"])
            }
        }
    }

    /// Records an attempt: delivered, retried at `nextAttempt`, or (nil) given up.
    func recordWebhookAttempt(_ id: Int64, delivered: Bool, at now: Date, nextAttempt: Date?, error: String?) async throws {
        try await pool.write { db in
            if delivered {
                try db.execute(sql: "UPDATE webhookDelivery SET attempts = attempts + 1, deliveredAt = ?, lastError = NULL WHERE id = ?",
                               arguments: [now, id])
            } else if let nextAttempt {
                try db.execute(sql: "UPDATE webhookDelivery SET attempts = attempts + 1, nextAttemptAt = ?, lastError = ? WHERE id = ?",
                               arguments: [nextAttempt, error, id])
            } else {
                try db.execute(sql: "UPDATE webhookDelivery SET attempts = attempts + 1, failedAt = ?, lastError = ? WHERE id = ?",
                               arguments: [now, error, id])
            }
        }
    }

    /// The latest `limit` deliveries, oldest first.
    public func webhookDeliveries(limit: Int = 100) throws -> [WebhookDeliveryState] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM webhookDelivery ORDER BY id DESC LIMIT ?) ORDER BY id",
                             arguments: [max(0, limit)]).map { row in
                WebhookDeliveryState(endpoint: row["endpoint"], event: row["event"], notificationID: row["notificationID"],
                                     attempts: row["attempts"], deliveredAt: row["deliveredAt"], failedAt: row["failedAt"],
                                     lastError: row["lastError"])
            }
        }
    }
}
