import Foundation

/// Where a PostgreSQL store is: parsed from a `postgres://user:password@host:port/database`
/// URL (also `postgresql://`), as libpq reads one. The password may instead come from
/// `$PGPASSWORD`, so that it need not appear in a process list or a shell history.
///
/// `?sslmode=` takes libpq's values: `disable` (plain TCP), `allow`/`prefer` (TLS if
/// the server offers it; the default, as in libpq), `require`, `verify-ca` and
/// `verify-full` (TLS, refusing a server without it). Stricter than libpq: whenever
/// TLS is used, the server's certificate and name are verified against the system's
/// roots. Any other parameter is refused rather than ignored.
public struct PostgresLocation: Sendable, Hashable {
    public enum TLSMode: String, Sendable, Hashable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// Whether `text` names a PostgreSQL database rather than a data directory.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses `url`; throws `invalidArgument` saying what is wrong (never repeating the
    /// password).
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw ServerError(.invalidArgument, "the store must be a data directory or a URL postgres://USER@HOST:PORT/DATABASE")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ServerError(.invalidArgument, "the PostgreSQL URL names no host (postgres://USER@HOST:PORT/DATABASE)")
        }
        guard let username = components.user?.removingPercentEncoding, !username.isEmpty else {
            throw ServerError(.invalidArgument, "the PostgreSQL URL names no user (postgres://USER@HOST:PORT/DATABASE)")
        }
        let database = String(components.path.drop { $0 == "/" }).removingPercentEncoding ?? ""
        guard !database.isEmpty, !database.contains("/") else {
            throw ServerError(.invalidArgument, "the PostgreSQL URL names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        if let port = components.port, !(1...65_535).contains(port) {
            throw ServerError(.invalidArgument, "the PostgreSQL URL's port \(port) is not 1-65535")
        }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): tls = .disable
            case ("sslmode", "allow"), ("sslmode", "prefer"): tls = .prefer
            case ("sslmode", "require"), ("sslmode", "verify-ca"), ("sslmode", "verify-full"): tls = .require
            case ("sslmode", let value):
                throw ServerError(.invalidArgument, "sslmode=\(value) is not one of disable, prefer, require, verify-ca, verify-full")
            case (let name, _):
                throw ServerError(.invalidArgument, "the PostgreSQL URL parameter \(String(reflecting: name)) is not supported (only sslmode)")
            }
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.username = username
        self.password = components.password?.removingPercentEncoding ?? environment["PGPASSWORD"]
        self.database = database
        self.tls = tls
    }

    /// The URL without the password: for messages and logs.
    public var description: String {
        "postgres://\(username)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }
}
