import Foundation
import GRDB
import SporCRDT
import SporProposal
import SporWire

/// How to reach the server: stored by `spor setup`.
public struct ServerSettings: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var token: String
    /// Connect with TLS.
    public var tls: Bool
    /// A PEM file of the CA to trust instead of the system's (a private CA).
    public var caFile: String?

    public init(host: String, port: Int, token: String, tls: Bool = false, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.token = token
        self.tls = tls
        self.caFile = caFile
    }

    /// "HOST:PORT" as typed; IPv6 literals in brackets ("[::1]:7070").
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        let host: Substring, portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Who this workspace writes as: the organisation the server said the token belongs
/// to, and this replica's agent (the organisation's agent prefix and a random part,
/// unique to the workspace).
public struct WorkspaceIdentity: Sendable, Hashable {
    /// The organisation's id on the server ("0751", "klimaalliancens-sekretariat").
    public let organisation: String
    public let organisationName: String
    /// "kommune", "region", "company", "association", "institution" or "secretariat".
    public let organisationKind: String
    public let agent: AgentID

    public var isSecretariat: Bool { organisationKind == "secretariat" }

    /// The proposal actor this organisation edits as.
    public var actor: Actor {
        // The server id, as the server and every partner's replica know the
        // organisation (its agents' prefix, the members map).
        Actor(organisation: organisation, role: isSecretariat ? .secretariat : .member)
    }
}

extension Workspace {
    enum SettingKey {
        static let host = "server.host", port = "server.port", token = "server.token"
        static let tls = "server.tls", caFile = "server.caFile"
        static let organisation = "organisation.id", organisationName = "organisation.name"
        static let organisationKind = "organisation.kind", agent = "agent"
    }

    /// The stored server connection, or nil before `spor setup`.
    public func serverSettings() throws -> ServerSettings? {
        Self.serverSettings(from: try settings())
    }

    static func serverSettings(from values: [String: String]) -> ServerSettings? {
        guard let host = values[SettingKey.host], let port = values[SettingKey.port].flatMap(Int.init),
              let token = values[SettingKey.token] else { return nil }
        return ServerSettings(host: host, port: port, token: token, tls: values[SettingKey.tls] == "1",
                              caFile: values[SettingKey.caFile])
    }

    /// Who this workspace writes as; throws `notSetUp` before `spor setup`.
    public func identity() throws -> WorkspaceIdentity {
        try identity(from: try settings())
    }

    /// The server settings and identity, read off the caller's thread (the sync engine).
    func connectionSettings() async throws -> (ServerSettings?, WorkspaceIdentity) {
        let values = try await asyncRead { db in try Self.settings(db) }
        return (Self.serverSettings(from: values), try identity(from: values))
    }

    private func identity(from values: [String: String]) throws -> WorkspaceIdentity {
        guard let organisation = values[SettingKey.organisation], let name = values[SettingKey.organisationName],
              let kind = values[SettingKey.organisationKind], let agentName = values[SettingKey.agent],
              let agent = try? AgentID(agentName) else {
            throw WorkspaceError(.notSetUp, "this workspace (\(directory)) is not set up",
                                 hint: "Run `spor setup --server HOST:PORT --token TOKEN` with the token the secretariat gave you.", danish: "dette arbejdsområde (\(directory)) er ikke sat op", danishHint: "Kør `spor setup --server VÆRT:PORT --token TOKEN` med den nøgle, sekretariatet har givet dig.")
        }
        return WorkspaceIdentity(organisation: organisation, organisationName: name, organisationKind: kind, agent: agent)
    }

    /// Stores the server and the organisation its token belongs to (as the server
    /// said in WELCOME). A workspace stays with one organisation: once it holds
    /// proposals, a token of another organisation is refused (`notSetUp` hint: use
    /// another `SPOR_HOME`). Setting up again with the same organisation (a rotated
    /// token, a moved server) keeps the agent and everything local.
    public func configure(server: ServerSettings, organisation: String, organisationName: String,
                          organisationKind: String, agentPrefix: String) throws -> WorkspaceIdentity {
        let directory = directory
        return try write { db in
            let current = try Self.settings(db)
            var agentName = current[SettingKey.agent]
            if let previous = current[SettingKey.organisation], previous != organisation {
                let documents = try Int.fetchOne(db, sql: "SELECT count(*) FROM document") ?? 0
                if documents > 0 {
                    throw WorkspaceError(.notSetUp, "this workspace belongs to organisation \(previous); the token is \(organisation)'s",
                                         hint: "Use a separate workspace for each organisation: SPOR_HOME=DIR spor setup … (workspace: \(directory))", danish: "dette arbejdsområde tilhører organisationen \(previous); nøglen er \(organisation)s", danishHint: "Brug et arbejdsområde for hver organisation: SPOR_HOME=MAPPE spor setup … (arbejdsområde: \(directory))")
                }
                agentName = nil
            }
            if agentName == nil || !(agentName ?? "").hasPrefix(agentPrefix) {
                agentName = agentPrefix + Self.randomID(length: 10)
            }
            let values: [String: String?] = [
                SettingKey.host: server.host, SettingKey.port: String(server.port), SettingKey.token: server.token,
                SettingKey.tls: server.tls ? "1" : "0", SettingKey.caFile: server.caFile,
                SettingKey.organisation: organisation, SettingKey.organisationName: organisationName,
                SettingKey.organisationKind: organisationKind, SettingKey.agent: agentName,
            ]
            for (key, value) in values {
                if let value {
                    try Self.storeSetting(db, key, value)
                } else {
                    try db.execute(sql: "DELETE FROM setting WHERE key = ?", arguments: [key])
                }
            }
            guard let agentName, let agent = try? AgentID(agentName) else {
                throw WorkspaceError(.storage, "the server's agent prefix \(String(reflecting: agentPrefix)) makes no valid agent name")
            }
            return WorkspaceIdentity(organisation: organisation, organisationName: organisationName,
                                     organisationKind: organisationKind, agent: agent)
        }
    }

    private func settings() throws -> [String: String] {
        try read { db in try Self.settings(db) }
    }

    static func settings(_ db: Database) throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM setting") {
            result[row["key"]] = row["value"]
        }
        return result
    }

    /// Lower-case letters and digits without look-alikes (no 0/o, 1/l), from the
    /// system's random source: ids people can read out and type.
    static func randomID(length: Int) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
    }
}

extension Workspace {
    static let localRoundsKey = "rounds"
    static let serverRoundsKey = "rounds.server"

    /// The rounds this workspace knows: the built-in ones, those the server's calendar
    /// had at the last sync (the secretariat publishes rounds with `spor-server round
    /// add`), and any added here with ``addRound(_:)``. A round id is taken once, in
    /// that order.
    public func roundCalendar() throws -> RoundCalendar {
        var calendar = RoundCalendar.builtIn
        for round in try storedRounds(Self.serverRoundsKey) + storedRounds(Self.localRoundsKey)
        where !calendar.rounds.contains(where: { $0.id == round.id }) {
            try calendar.add(round)
        }
        return calendar
    }

    /// Adds `round` to this workspace only, checked like the server checks it (order of
    /// deadlines, unique id).
    public func addRound(_ round: Round) throws {
        var calendar = try roundCalendar()
        try calendar.add(round)
        try storeRounds(try storedRounds(Self.localRoundsKey) + [round], key: Self.localRoundsKey)
    }

    /// Replaces the rounds learnt from the server (the sync engine calls this with the
    /// server's calendar). Rounds that do not pass ``RoundCalendar/add(_:)`` are left out.
    /// Stores the rounds the server published. A round this workspace cannot read is
    /// left out and the others kept; returns what was left out and why.
    @discardableResult
    func storeServerRounds(_ entries: [SporMessage.RoundEntry]) async throws -> [String] {
        var calendar = RoundCalendar.builtIn
        var rounds: [Round] = []
        var skipped: [String] = []
        for entry in entries where !RoundCalendar.builtIn.rounds.contains(where: { $0.id == entry.id }) {
            do {
                let round = try Self.round(from: entry)
                try calendar.add(round)
                rounds.append(round)
            } catch {
                skipped.append("round \(entry.id) (\(entry.englishName)): \(error)")
            }
        }
        let json = String(decoding: try JSONEncoder().encode(rounds), as: UTF8.self)
        try await asyncWrite { db in try Self.storeSetting(db, Self.serverRoundsKey, json) }
        return skipped
    }

    static func round(from entry: SporMessage.RoundEntry) throws -> Round {
        let field = "rounds[\(entry.id)]"
        return Round(id: entry.id, danishName: entry.danishName, englishName: entry.englishName,
                     opens: entry.opens.isEmpty ? nil : try LocalDateTime(parsing: entry.opens, field: field + ".opens"),
                     qualificationDeadline: try LocalDateTime(parsing: entry.qualificationDeadline, field: field + ".qualificationDeadline"),
                     approvalDeadline: try LocalDateTime(parsing: entry.approvalDeadline, field: field + ".approvalDeadline"),
                     committeeMeeting: try CalendarDate(parsing: entry.committeeMeeting, field: field + ".committeeMeeting"))
    }

    private func storeRounds(_ rounds: [Round], key: String) throws {
        let json = String(decoding: try JSONEncoder().encode(rounds), as: UTF8.self)
        try write { db in try Self.storeSetting(db, key, json) }
    }

    static func storeSetting(_ db: Database, _ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       arguments: [key, value])
    }

    private func storedRounds(_ key: String) throws -> [Round] {
        guard let json = try read({ db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }) else {
            return []
        }
        return try JSONDecoder().decode([Round].self, from: Data(json.utf8))
    }
}

extension Workspace {
    static let languageKey = "language"

    /// The language `spor config language` chose for this workspace ("da", "en"), or
    /// nil: then the locale decides.
    public func languagePreference() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [Self.languageKey]) }
    }

    /// Stores `code` as the workspace's language; nil goes back to the locale's.
    public func setLanguagePreference(_ code: String?) throws {
        try write { db in
            if let code {
                try Self.storeSetting(db, Self.languageKey, code)
            } else {
                try db.execute(sql: "DELETE FROM setting WHERE key = ?", arguments: [Self.languageKey])
            }
        }
    }
}
