import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SporProposal
import SporTestSupport

/// A round as the secretariat finds it on a Tuesday in autumn 2024, served by a real
/// `spor-server --web`: Aarhus leads a complete proposal with Odense and Region
/// Midtjylland, submitted for qualification, with an open comment; Vejle has a draft
/// whose title tries HTML and a spreadsheet formula. Built once per test run (a server
/// process and four workspaces take seconds); tests that change it (logging out,
/// revoking) use organisations of their own.
struct WebRound: Sendable {
    let server: ServerProcess
    let aarhus: SporCLI
    let vejle: SporCLI
    /// A second secretariat account's workspace, synced: `spor overview` beside the web page.
    let office: SporCLI
    let aarhusToken: String
    let vejleToken: String
    let secretariatToken: String
    let complete: String
    let draft: String

    static let clock = "2024-10-01T08:00:00Z"
    static let draftTitle = "=Skybrud i Vejle <script>alert(1)</script>"

    private static let made = Task { try WebRound() }
    static func shared() async throws -> WebRound { try await made.value }

    private init() throws {
        server = try ServerProcess(arguments: ["--web", "127.0.0.1:0"], clock: Self.clock)
        var aarhus = try SporCLI()
        aarhus.now = Self.clock
        aarhusToken = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        try aarhus.ok("setup", "--server", server.address, "--token", aarhusToken)
        complete = try aarhus.newProposal("Grønne tage i Aarhus", "--round", "2024-autumn")
        try aarhus.ok("participant", "add", complete, "--org", "0461", "--role", "partner", "--cash", "100.000")
        try aarhus.ok("participant", "add", complete, "--org", "Region Midtjylland", "--role", "partner")
        for section in Section.allCases.filter({ $0.isRequired && $0 != .title }).map(\.key) {
            try aarhus.ok("set", complete, section, "Tekst om \(section): æøå og *fremhævet* tekst.")
        }
        try aarhus.ok("set", complete, "amountRequested", "1.250.000")
        try aarhus.ok("budget", "add", complete, "--item", "Analyse", "--amount", "1.250.000", "--source", "klimaalliancen", "--year", "2025")
        try aarhus.ok("milestone", "add", complete, "--title", "Start", "--date", "2025-01-15")
        try aarhus.ok("submit", complete)
        try aarhus.ok("comment", "add", complete, "summary", "--text", "Skal vi nævne regnvandet?")
        try aarhus.ok("sync")

        var vejle = try SporCLI()
        vejle.now = Self.clock
        vejleToken = try server.addOrganisation("Vejle Kommune", kind: "kommune", code: "0630")
        try vejle.ok("setup", "--server", server.address, "--token", vejleToken)
        draft = try vejle.newProposal(Self.draftTitle, "--round", "2024-autumn")
        try vejle.ok("set", draft, "amountRequested", "400.000")
        try vejle.ok("sync")

        var office = try SporCLI()
        office.now = Self.clock
        try office.setUp(server, "Sekretariatets kontor", kind: "secretariat", code: "sek")
        try office.ok("sync")
        secretariatToken = try server.secretariatToken()
        self.aarhus = aarhus
        self.vejle = vejle
        self.office = office
    }

    var base: String { server.webAddress ?? "http://127.0.0.1:1" }
}

/// One browser-less visitor of the web overview: keeps the cookies the server sets
/// (as a browser would, by name, honouring Max-Age=0) and follows no redirect, so a
/// test sees every 303.
actor WebVisitor {
    struct Page: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let bytes: [UInt8]
        var body: String { String(decoding: bytes, as: UTF8.self) }
        var location: String? { headers.first(name: "location") }
        var setCookies: [String] { headers["set-cookie"] }

        /// The value of the first hidden `csrf` field of the page's forms.
        var csrf: String? {
            guard let range = body.range(of: "name=\"csrf\" value=\"") else { return nil }
            return String(body[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    /// Redirects are the tests' to see; one client for the run (never shut down, as
    /// the process ends with the tests).
    static let http = HTTPClient(eventLoopGroupProvider: .singleton,
                                 configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60))))

    let base: String
    var cookies: [String: String] = [:]

    init(_ base: String) { self.base = base }

    func setCookie(_ name: String, _ value: String?) { cookies[name] = value }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Page {
        try await send(path, method: .GET, body: nil, headers: headers)
    }

    func post(_ path: String, form: [(String, String)], headers: [(String, String)] = []) async throws -> Page {
        let body = form.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await send(path, method: .POST, body: body, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers)
    }

    func send(_ path: String, method: HTTPMethod, body: String?, headers: [(String, String)]) async throws -> Page {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.map { "\($0)=\($1)" }.joined(separator: "; ")) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await Self.http.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 32 * 1024 * 1024)
        for header in response.headers["set-cookie"] {
            let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let pair = parts.first, let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals]), value = String(pair[pair.index(after: equals)...])
            cookies[name] = parts.contains("Max-Age=0") || value.isEmpty ? nil : value
        }
        return Page(status: Int(response.status.code), headers: response.headers, bytes: Array(buffer: bytes))
    }

    /// Logs in with `token` through the form, as a person does.
    @discardableResult
    func logIn(_ token: String) async throws -> Page {
        let form = try await get("/login")
        return try await post("/login", form: [("csrf", form.csrf ?? ""), ("token", token)])
    }
}
