import Crypto
import Foundation
import Synchronization

/// The web overview's logins: an organisation logs in once with its token and gets a
/// session, named by a random id in a cookie.
///
/// - The id is 32 bytes from the system's CSPRNG (base64url); the table is keyed by
///   its SHA-256, so looking one up does not compare secrets byte by byte.
/// - A session keeps the SHA-256 of the token it was opened with, never the token:
///   every request looks the account up by it again, so revoking or rotating the
///   token ends the session at the next request.
/// - A session ends `lifetime` after login (absolute, not sliding: a forgotten
///   session in a town hall does not live on), at logout, or when the server restarts
///   (sessions are kept in memory only).
/// - Each session has its own CSRF token, which every form carries; the login form,
///   before there is a session, carries one bound to a short-lived cookie.
/// - At most `capacity` sessions: a new one beyond it ends the oldest.
final class WebSessions: Sendable {
    struct Session: Sendable {
        let account: String
        let tokenHash: Data
        let csrf: String
        let expires: Date
    }

    private struct Table {
        var byKey: [Data: Session] = [:]
        /// Keys in the order the sessions were opened, for eviction.
        var order: [Data] = []
    }

    private let table = Mutex(Table())
    let lifetime: TimeInterval
    let capacity: Int
    private let now: @Sendable () -> Date

    init(lifetime: TimeInterval, capacity: Int, now: @escaping @Sendable () -> Date) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
        self.now = now
    }

    /// Opens a session for `account`; returns the cookie's value and the session.
    func open(account: String, tokenHash: Data) -> (id: String, session: Session) {
        let id = Self.randomToken()
        let session = Session(account: account, tokenHash: tokenHash, csrf: Self.randomToken(), expires: now().addingTimeInterval(lifetime))
        let key = Self.key(id)
        let at = now()
        table.withLock { table in
            table.byKey[key] = session
            table.order.append(key)
            // Drop ended sessions and, beyond capacity, the oldest.
            if table.order.count > capacity {
                table.order.removeAll { table.byKey[$0].map { $0.expires <= at } ?? true }
                while table.order.count > capacity { table.byKey[table.order.removeFirst()] = nil }
                table.order.removeAll { table.byKey[$0] == nil }
            }
        }
        return (id, session)
    }

    /// The live session the cookie names; nil for an unknown, malformed or expired one
    /// (an expired one is removed).
    func session(_ id: String) -> Session? {
        guard Self.isWellFormed(id) else { return nil }
        let key = Self.key(id)
        let at = now()
        return table.withLock { table in
            guard let session = table.byKey[key] else { return nil }
            guard session.expires > at else {
                table.byKey[key] = nil
                return nil
            }
            return session
        }
    }

    /// Ends the session the cookie names (logout).
    func close(_ id: String) {
        guard Self.isWellFormed(id) else { return }
        let key = Self.key(id)
        table.withLock { table in
            table.byKey[key] = nil
            table.order.removeAll { $0 == key }
        }
    }

    var count: Int { table.withLock { $0.byKey.count } }

    /// 32 random bytes as base64url without padding (43 characters): a cookie value
    /// and a form field need no escaping.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// What ``randomToken()`` makes: 43 base64url characters.
    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
        }
    }

    /// Two secrets compared in time independent of where they differ.
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func key(_ id: String) -> Data { Data(SHA256.hash(data: Data(id.utf8))) }
}

/// Failed logins per client address: after `limit` failures within `window` seconds
/// an address is refused (429) until the window has passed. Tokens are 256-bit, so
/// this is not what keeps them secret; it keeps a guessing script from costing the
/// server a database read per guess. At most `capacity` addresses are tracked (the
/// oldest forgotten first).
final class LoginAttempts: Sendable {
    private struct Entry { var failures: Int; var since: Date }
    private let entries = Mutex([String: Entry]())
    let limit: Int
    let window: TimeInterval
    let capacity: Int
    private let now: @Sendable () -> Date

    init(limit: Int = 10, window: TimeInterval = 600, capacity: Int = 10_000, now: @escaping @Sendable () -> Date) {
        self.limit = limit
        self.window = window
        self.capacity = capacity
        self.now = now
    }

    /// Whether `address` may try now.
    func mayTry(_ address: String) -> Bool {
        let at = now()
        return entries.withLock { entries in
            guard let entry = entries[address] else { return true }
            if at.timeIntervalSince(entry.since) >= window {
                entries[address] = nil
                return true
            }
            return entry.failures < limit
        }
    }

    func failed(_ address: String) {
        let at = now()
        entries.withLock { entries in
            if var entry = entries[address], at.timeIntervalSince(entry.since) < window {
                entry.failures += 1
                entries[address] = entry
            } else {
                if entries.count >= capacity, let oldest = entries.min(by: { $0.value.since < $1.value.since })?.key {
                    entries[oldest] = nil
                }
                entries[address] = Entry(failures: 1, since: at)
            }
        }
    }

    func succeeded(_ address: String) {
        _ = entries.withLock { $0.removeValue(forKey: address) }
    }
}
