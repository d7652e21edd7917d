import Foundation
import Logging
import PostgresNIO
import SporProposal
import SporServer
import SporTestSupport
import SporWire
import Testing

/// The two stores behind ``ServerStore`` — the embedded SQLite one and PostgreSQL —
/// give the same answers and the same typed refusals: every test here runs against
/// both. The PostgreSQL ones use the throw-away cluster `scripts/test` starts
/// (`$SPOR_TEST_POSTGRES_URL`), one new database per test.
@Suite("store contract (SQLite and PostgreSQL)", .blockingCallsAllowed)
struct StoreContractTests {
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    static let kinds: [Kind] = Kind.allCases

    /// Opens a new, empty store of `kind`, runs `body` and removes the store.
    func withStore(_ kind: Kind, _ body: (any ServerStore) async throws -> Void) async throws {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spor-store-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await body(try SporStore(directory: directory))
        case .postgres:
            try await TestPostgres.withDatabase { location in
                let store = try await PostgresStore.open(location)
                do {
                    try await body(store)
                } catch {
                    await store.close()
                    throw error
                }
                await store.close()
            }
        }
    }

    private func code(of error: any Error) -> WireErrorCode? { (error as? ServerError)?.code }

    private func expectRefusal(_ expected: WireErrorCode, _ what: String,
                               _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(what) was accepted; expected \(expected)")
        } catch {
            #expect(code(of: error) == expected, "\(what): \(error)")
        }
    }

    @Test("accounts: added with official codes or slugs, listed oldest first, found by token; taken names and codes refused",
          .enabled(if: TestPostgres.isAvailableOrRequired), arguments: kinds)
    func accounts(kind: Kind) async throws {
        try await withStore(kind) { store in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let admin = "tests"
            let (aarhus, aarhusToken) = try await store.addAccount(name: "  Aarhus Kommune ", kind: .kommune, code: nil, now: start, by: admin)
            #expect(aarhus.id == "0751" && aarhus.name == "Aarhus Kommune" && aarhus.code == "0751")
            let (firm, _) = try await store.addAccount(name: "Rådgiver ÆØÅ A/S", kind: .company, code: nil,
                                                       now: start.addingTimeInterval(1), by: admin)
            #expect(firm.id == "raadgiver-aeoeaa-a-s")
            // Same slug, another name: a suffix, not a refusal.
            let (twin, _) = try await store.addAccount(name: "Rådgiver æøå A S", kind: .company, code: nil,
                                                       now: start.addingTimeInterval(2), by: admin)
            #expect(twin.id == "raadgiver-aeoeaa-a-s-2")

            await expectRefusal(.alreadyExists, "the same name again") {
                _ = try await store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: nil, now: start, by: admin)
            }
            await expectRefusal(.alreadyExists, "a taken code under another name") {
                _ = try await store.addAccount(name: "Aarhus Firma", kind: .company, code: "0751", now: start, by: admin)
            }
            await expectRefusal(.invalidArgument, "a municipality that does not exist") {
                _ = try await store.addAccount(name: "Atlantis Kommune", kind: .kommune, code: nil, now: start, by: admin)
            }
            await expectRefusal(.invalidArgument, "a code with a dot") {
                _ = try await store.addAccount(name: "Punktum", kind: .company, code: "a.b", now: start, by: admin)
            }

            let listed = try await store.accounts()
            #expect(listed.map(\.id) == ["0751", "raadgiver-aeoeaa-a-s", "raadgiver-aeoeaa-a-s-2"])
            #expect(listed.first?.createdAt.timeIntervalSince1970 == start.timeIntervalSince1970)
            #expect(try await store.account(forToken: aarhusToken)?.id == "0751")
            #expect(try await store.account(forToken: aarhusToken + "x") == nil)
            #expect(try await store.account(id: "0751") == listed.first)
            await expectRefusal(.notFound, "an unknown id") { _ = try await store.account(id: "9999") }
            #expect(try await store.hasSecretariat() == false)
            _ = try await store.addAccount(name: "Klimaalliancens sekretariat", kind: .secretariat, code: nil, now: start, by: admin)
            #expect(try await store.hasSecretariat() == true)
            try await store.checkReadable()
        }
    }

    @Test("revoking stops a token; revoking twice or an unknown id is refused; rotating reinstates with a new token only",
          .enabled(if: TestPostgres.isAvailableOrRequired), arguments: kinds)
    func revokeAndRotate(kind: Kind) async throws {
        try await withStore(kind) { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let (_, token) = try await store.addAccount(name: "Odense Kommune", kind: .kommune, code: nil, now: now, by: "tests")
            try await store.revoke(id: "0461", now: now, by: "tests")
            #expect(try await store.account(forToken: token) == nil)
            #expect(try await store.account(id: "0461").isRevoked)
            await expectRefusal(.invalidArgument, "revoking twice") { try await store.revoke(id: "0461", now: now, by: "tests") }
            await expectRefusal(.notFound, "revoking an unknown id") { try await store.revoke(id: "nobody", now: now, by: "tests") }
            await expectRefusal(.notFound, "rotating an unknown id") { _ = try await store.rotateToken(id: "nobody", now: now, by: "tests") }
            let rotated = try await store.rotateToken(id: "0461", now: now, by: "tests")
            #expect(rotated != token && rotated.hasPrefix("spor_"))
            #expect(try await store.account(forToken: rotated)?.id == "0461")
            #expect(try await store.account(forToken: token) == nil)
            let audit = try await store.auditEntries(limit: 10)
            #expect(audit.map(\.action) == [.organisationAdded, .tokenRevoked, .tokenRotated])
            #expect(audit.last?.detail == "reinstated")
            #expect(audit.allSatisfy { $0.actor == "tests" && $0.subject == "0461" })
            #expect(try await store.auditEntries(limit: 1).map(\.action) == [.tokenRotated])
        }
    }

    @Test("rounds: added after the built-in ones in the order added; a clash, a bad id and built-in or unknown removals refused",
          .enabled(if: TestPostgres.isAvailableOrRequired), arguments: kinds)
    func rounds(kind: Kind) async throws {
        try await withStore(kind) { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            func round(_ id: String, year: Int) throws -> Round {
                Round(id: id, danishName: "Runde \(id)", englishName: "Round \(id)",
                      qualificationDeadline: try LocalDateTime(parsing: "\(year)-03-01 12:00", field: "q"),
                      approvalDeadline: try LocalDateTime(parsing: "\(year)-04-01 12:00", field: "a"),
                      committeeMeeting: try CalendarDate(parsing: "\(year)-05-01", field: "c"))
            }
            let builtIn = RoundCalendar.builtIn.rounds.map(\.id)
            try await store.addRound(try round("2031-b", year: 2031), now: now, by: "tests")
            try await store.addRound(try round("2030-a", year: 2030), now: now, by: "tests")
            let (calendar, unreadable) = try await store.storedRounds()
            #expect(unreadable.isEmpty)
            #expect(Set(calendar.rounds.map(\.id)) == Set(builtIn + ["2031-b", "2030-a"]))
            await expectRefusal(.invalidArgument, "a round id with a space") {
                try await store.addRound(try round("bad id", year: 2032), now: now, by: "tests")
            }
            do {
                try await store.addRound(try round("2030-a", year: 2033), now: now, by: "tests")
                Issue.record("a second round 2030-a was accepted")
            } catch let error as ProposalError {
                #expect(error.message.contains("already a round 2030-a"))
            }
            if let first = builtIn.first {
                await expectRefusal(.invalidArgument, "removing a built-in round") { try await store.removeRound(id: first, now: now, by: "tests") }
            }
            await expectRefusal(.notFound, "removing an unknown round") { try await store.removeRound(id: "2099-x", now: now, by: "tests") }
            try await store.removeRound(id: "2031-b", now: now, by: "tests")
            #expect(try await !store.storedRounds().calendar.rounds.contains { $0.id == "2031-b" })
            #expect(try await store.auditEntries(limit: 10).map(\.action) == [.roundAdded, .roundAdded, .roundRemoved])
        }
    }
}

/// The PostgreSQL store's own behaviour: migrations, several instances opening at
/// once, concurrent admin commands, what a bad URL or an unreachable server gets.
@Suite("PostgreSQL store", .blockingCallsAllowed)
struct PostgresStoreTests {
    @Test("migrations run once, also when several instances open the database together, and data stays across reopening",
          .enabled(if: TestPostgres.isAvailableOrRequired))
    func migrationsRunOnce() async throws {
        try await TestPostgres.withDatabase { location in
            let stores = try await TestPostgres.openTogether(4, location)
            let (account, token) = try await stores[0].addAccount(name: "Vejle Kommune", kind: .kommune, code: nil, now: Date(), by: "tests")
            // Every instance sees what another wrote.
            for store in stores { #expect(try await store.account(forToken: token)?.id == account.id) }
            for store in stores { await store.close() }
            let reopened = try await PostgresStore.open(location)
            #expect(try await reopened.accounts().map(\.id) == ["0630"])
            await reopened.close()
            let applied = try await TestPostgres.strings(location, "SELECT name FROM spor_migration ORDER BY name")
            #expect(applied == ["pg-v1"])
        }
    }

    @Test("a database migrated by a newer spor-server is refused, not used", .enabled(if: TestPostgres.isAvailableOrRequired))
    func newerDatabaseRefused() async throws {
        try await TestPostgres.withDatabase { location in
            let store = try await PostgresStore.open(location)
            await store.close()
            _ = try await TestPostgres.strings(location, "INSERT INTO spor_migration VALUES ('pg-v99-from-the-future', now()) RETURNING name")
            do {
                let refused = try await PostgresStore.open(location)
                await refused.close()
                Issue.record("a database with an unknown migration was opened")
            } catch let error as ServerError {
                #expect(error.message.contains("newer spor-server") && error.message.contains("pg-v99-from-the-future"))
            }
        }
    }

    @Test("the same organisation added at once by eight admin commands is stored once; the others are told it exists",
          .enabled(if: TestPostgres.isAvailableOrRequired))
    func concurrentAddsOfOneName() async throws {
        try await TestPostgres.withDatabase { location in
            let stores = try await TestPostgres.openTogether(2, location)
            let codes = await withTaskGroup(of: WireErrorCode?.self) { group in
                for attempt in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await stores[attempt % 2].addAccount(name: "Rådgiverne", kind: .company, code: nil, now: Date(), by: "tests")
                            return nil
                        } catch {
                            return (error as? ServerError)?.code ?? .internalError
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(codes.filter { $0 == nil }.count == 1)
            #expect(codes.compactMap { $0 } == Array(repeating: .alreadyExists, count: 7))
            #expect(try await stores[0].accounts().map(\.id) == ["raadgiverne"])
            for store in stores { await store.close() }
        }
    }

    @Test("spor-server's org, token, round and audit commands work on --store postgres://…; serve and backup say they do not yet",
          .enabled(if: TestPostgres.isAvailableOrRequired))
    func adminCommandsOnPostgres() async throws {
        try await TestPostgres.withDatabase { location in
            let url = TestPostgres.url(of: location)
            let added = try ServerProcessTests.run(["org", "add", "--store", url, "Aarhus Kommune", "--kind", "kommune"])
            #expect(added.status == 0, "\(added.stderr)")
            let token = added.stdout.split(separator: "\n").last.map(String.init) ?? ""
            #expect(token.hasPrefix("spor_"))
            let again = try ServerProcessTests.run(["org", "add", "--store", url, "Aarhus Kommune", "--kind", "kommune"])
            #expect(again.status == 1 && again.stderr.contains("already exists"))
            #expect(try ServerProcessTests.run(["org", "revoke", "--store", url, "0751"]).status == 0)
            let listed = try ServerProcessTests.run(["org", "list", "--store", url])
            #expect(listed.stdout == "0751\tkommune\trevoked\tAarhus Kommune\n")
            let rotated = try ServerProcessTests.run(["token", "rotate", "--store", url, "0751"])
            let newToken = rotated.stdout.split(separator: "\n").last.map(String.init) ?? ""
            // What the commands wrote is in the database, read back by another client.
            let store = try await PostgresStore.open(location)
            #expect(try await store.account(forToken: newToken)?.id == "0751")
            #expect(try await store.account(forToken: token) == nil)
            await store.close()
            let audit = try ServerProcessTests.run(["audit", "--store", url])
            #expect(audit.stdout.split(separator: "\n").map { $0.split(separator: "\t")[2] } == ["organisation.add", "token.revoke", "token.rotate"])
            let serve = try ServerProcessTests.run(["serve", "--store", url])
            #expect(serve.status == 2 && serve.stderr.contains("data directory (--data) only"))
            let both = try ServerProcessTests.run(["org", "list", "--store", url, "--data", "/tmp/nowhere"])
            #expect(both.status == 2 && both.stderr.contains("not both"))
            let away = try ServerProcessTests.run(["org", "list", "--store", "postgres://spor@127.0.0.1:1/spor?sslmode=disable"])
            #expect(away.status == 3 && away.stderr.contains("127.0.0.1:1"))
        }
    }

    @Test("bad store URLs are refused with what is wrong, never echoing the password")
    func badURLs() throws {
        let cases: [(String, String)] = [
            ("postgres://127.0.0.1/spor", "no user"),
            ("postgres://spor@/spor", "no host"),
            ("postgres://spor@db.example", "no database"),
            ("postgres://spor:hemmelig@db.example/spor?sslmode=sometimes", "sslmode=sometimes"),
            ("postgres://spor:hemmelig@db.example/spor?application=x", "not supported"),
            ("mysql://spor@db.example/spor", "postgres://"),
        ]
        for (url, expected) in cases {
            do {
                _ = try PostgresLocation(url: url, environment: [:])
                Issue.record("\(url) was accepted")
            } catch let error as ServerError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains(expected), "\(url): \(error.message)")
                #expect(!error.message.contains("hemmelig"))
            }
        }
        let parsed = try PostgresLocation(url: "postgresql://spor%40kl@[::1]:6543/spor_prod?sslmode=require",
                                          environment: ["PGPASSWORD": "fra-miljøet"])
        #expect(parsed.username == "spor@kl" && parsed.host == "::1" && parsed.port == 6543 && parsed.database == "spor_prod")
        #expect(parsed.tls == .require && parsed.password == "fra-miljøet")
        #expect(parsed.description == "postgres://spor@kl@[::1]:6543/spor_prod")
    }

    @Test("a server that is not there, or a wrong password, is an error with the reason, not a hang",
          .enabled(if: TestPostgres.isAvailableOrRequired))
    func unreachableOrRefused() async throws {
        let closedPort = try PostgresLocation(url: "postgres://spor@127.0.0.1:1/spor?sslmode=disable", environment: [:])
        let started = ContinuousClock.now
        do {
            let store = try await PostgresStore.open(closedPort)
            await store.close()
            Issue.record("a closed port was opened")
        } catch let error as ServerError {
            #expect(error.code == .internalError && error.message.contains("127.0.0.1:1"), "\(error.message)")
        }
        #expect(ContinuousClock.now - started < .seconds(30))

        var wrongPassword = try TestPostgres.location()
        wrongPassword.password = "not-the-password"
        do {
            let store = try await PostgresStore.open(wrongPassword)
            await store.close()
            Issue.record("a wrong password was accepted")
        } catch let error as ServerError {
            #expect(error.message.contains("password"), "\(error.message)")
            #expect(!error.message.contains("not-the-password"))
        }
    }
}

/// The throw-away PostgreSQL cluster of `scripts/test`.
enum TestPostgres {
    static let urlVariable = "SPOR_TEST_POSTGRES_URL"

    /// Whether to run the PostgreSQL tests: when the cluster's URL is set, and in CI
    /// (`CI` set) always — there a missing cluster fails them, never skips them.
    static var isAvailableOrRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment[urlVariable] != nil || environment["CI"] != nil
    }

    static func location() throws -> PostgresLocation {
        guard let url = ProcessInfo.processInfo.environment[urlVariable] else {
            throw TestFailure("\(urlVariable) is not set: run the tests with scripts/test, which starts a PostgreSQL cluster")
        }
        return try PostgresLocation(url: url, environment: [:])
    }

    /// `count` stores on `location`, opened at the same time (as instances starting together).
    static func openTogether(_ count: Int, _ location: PostgresLocation) async throws -> [PostgresStore] {
        try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<count { group.addTask { try await PostgresStore.open(location) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// `location` as a URL, with its password.
    static func url(of location: PostgresLocation) -> String {
        let password = location.password?.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return "postgres://\(location.username):\(password)@\(location.host):\(location.port)/\(location.database)?sslmode=disable"
    }

    /// Creates a new database on the cluster, runs `body` with its location, drops it.
    static func withDatabase(_ body: (PostgresLocation) async throws -> Void) async throws {
        let server = try location()
        var location = server
        location.database = "spor_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20))"
        try await administer(server, "CREATE DATABASE \(location.database)")
        do {
            try await body(location)
        } catch {
            try? await administer(server, "DROP DATABASE \(location.database) WITH (FORCE)")
            throw error
        }
        try await administer(server, "DROP DATABASE \(location.database) WITH (FORCE)")
    }

    /// Runs `sql` (no parameters) on one connection of its own.
    static func administer(_ location: PostgresLocation, _ sql: String) async throws {
        _ = try await strings(location, sql)
    }

    /// Runs `sql` and returns the first column of its rows as text.
    static func strings(_ location: PostgresLocation, _ sql: String) async throws -> [String] {
        let configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.username,
                                                             password: location.password, database: location.database, tls: .disable)
        let logger = Logger(label: "spor.tests.postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            var values: [String] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                values.append(try row.decode(String.self))
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
