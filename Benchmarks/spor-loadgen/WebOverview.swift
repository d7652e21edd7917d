import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SporCRDT
import SporProposal
import SporServer
import SporWire
import SporWorkloads

/// The web overview with a round's worth of large proposals: fills a store with
/// `proposals` copies of one `events`-event proposal history (``ProposalHistory``,
/// pushed through the protocol like a client's), then starts `spor-server --web` and
/// times the secretariat's round page — the first view (every proposal read from its
/// history), warm views, a view after one proposal changed — its CSV and a proposal's
/// page, from the `Server-Timing` the server reports and as the client saw them. The
/// web port's memory is the resident size of an idle server with `--web` minus one
/// without, on the same store.
struct WebOverview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "web", abstract: "Time the web overview's round page on a large round.")

    @OptionGroup var options: ServerOptions
    @Option(help: "Proposals in the round.") var proposals = 50
    @Option(help: "Events typed into each proposal before its comments and last merges (the history ends a few thousand above; one push takes at most 100,000).")
    var events = 92_000
    @Option(help: "Warm views to time.") var runs = 21

    struct Timing { var server: [Double] = []; var client: [Double] = [] }

    func run() async throws {
        let directory = temporaryDirectory("web")
        let store = try SporStore(directory: directory)
        let secretariat = try store.addAccount(name: "Klimaalliancens sekretariat", kind: .secretariat).token
        let aarhus = try store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: "0751").token

        let generationStart = ContinuousClock.now
        let history = try ProposalHistory(seed: 2024, targetEvents: events, agents: ["0751/bench-a", "0751/bench-b", "0751/bench-c"])
        let batch = try history.proposal.document.encodedChanges()
        let generated = ContinuousClock.now - generationStart

        var server = options.makeServer(directory: directory)
        defer { server.stop() }   // also when a step fails
        try server.start()
        var client = try await LoadClient.connect(port: server.port, token: aarhus)
        let fillStart = ContinuousClock.now
        for index in 0..<proposals {
            let document = "0751.web-\(index)"
            guard case .ok? = try await client.request({ .createDocument(request: $0, document: document) }) else { throw LoadError("create \(document)") }
            let answer = try await client.request({ .push(request: $0, document: document, changes: batch) })
            guard case .pushAck? = answer else { throw LoadError("push to \(document): \(String(describing: answer))") }
        }
        let filled = ContinuousClock.now - fillStart
        await client.connection.close()
        server.stop()

        // Idle memory with and without the web port, same store, fresh processes.
        func idleResident(_ arguments: [String]) async throws -> Int {
            let process = options.makeServer(directory: directory, extraArguments: arguments)
            try process.start()
            try await Task.sleep(for: .seconds(3))
            let resident = process.memory().currentBytes
            process.stop()
            return resident
        }
        var plainResident: [Int] = [], webResident: [Int] = []
        for _ in 0..<3 {
            plainResident.append(try await idleResident([]))
            webResident.append(try await idleResident(["--web", "127.0.0.1:0"]))
        }

        server = options.makeServer(directory: directory, extraArguments: ["--web", "127.0.0.1:0"])
        try server.start()
        guard let webPort = server.webPort else { throw LoadError("no web port") }
        let idle = server.memory().currentBytes
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let web = WebSession(http: http, base: "http://127.0.0.1:\(webPort)")
        try await web.logIn(secretariat)

        let (coldServer, coldClient) = try await web.time("/proposals")
        var round = Timing(), csv = Timing(), page = Timing()
        for _ in 0..<runs {
            let (s, c) = try await web.time("/proposals")
            round.server.append(s); round.client.append(c)
        }
        for _ in 0..<runs {
            let (s, c) = try await web.time("/proposals.csv")
            csv.server.append(s); csv.client.append(c)
        }
        for _ in 0..<runs {
            let (s, c) = try await web.time("/proposals/0751.web-7")
            page.server.append(s); page.client.append(c)
        }
        let warmResident = server.memory().currentBytes

        // One proposal changes: a word typed into its summary, pushed as a client does.
        var edited = history.proposal.document
        let before = edited.versionVector
        try edited.insert("Opdateret. ", at: 0, in: ProposalSchema.text(of: .summary))
        var writer = try await LoadClient.connect(port: server.port, token: aarhus)
        let edit = try edited.encodedChanges(since: before)
        guard case .pushAck? = try await writer.request({ .push(request: $0, document: "0751.web-3", changes: edit) }) else { throw LoadError("edit refused") }
        await writer.connection.close()
        let (changedServer, changedClient) = try await web.time("/proposals")
        try await http.shutdown()
        server.stop()

        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func p95(_ values: [Double]) -> Double { values.sorted()[min(values.count - 1, Int(Double(values.count) * 0.95))] }
        func mb(_ bytes: Int) -> Double { (Double(bytes) / 1_048_576 * 10).rounded() / 10 }
        try printJSON([
            "scenario": "web", "proposals": proposals, "eventsPerProposal": history.proposal.document.eventCount,
            "batchBytes": batch.count, "generatedSeconds": milliseconds(generated) / 1000, "filledSeconds": milliseconds(filled) / 1000,
            "roundPageFirstViewServerMs": coldServer, "roundPageFirstViewClientMs": coldClient,
            "roundPageWarmServerMsMedian": median(round.server), "roundPageWarmServerMsP95": p95(round.server),
            "roundPageWarmServerMsMax": round.server.max() ?? 0, "roundPageWarmClientMsMedian": median(round.client),
            "roundPageAfterOneChangeServerMs": changedServer, "roundPageAfterOneChangeClientMs": changedClient,
            "csvWarmServerMsMedian": median(csv.server), "proposalPageWarmServerMsMedian": median(page.server),
            "proposalPageWarmClientMsMedian": median(page.client),
            "idleResidentMBWithoutWeb": plainResident.map(mb), "idleResidentMBWithWeb": webResident.map(mb),
            "webPortAddsMBMedian": mb(webResident.sorted()[1] - plainResident.sorted()[1]),
            "residentMBAtStart": mb(idle), "residentMBAfterViews": mb(warmResident),
        ])
    }
}

/// A logged-in browser-less session of the web overview.
actor WebSession {
    let http: HTTPClient
    let base: String
    var cookies: [String: String] = [:]

    init(http: HTTPClient, base: String) {
        self.http = http
        self.base = base
    }

    private func send(_ path: String, method: HTTPMethod = .GET, form: String? = nil) async throws -> (HTTPClientResponse, String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.map { "\($0)=\($1)" }.joined(separator: "; ")) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let response = try await http.execute(request, timeout: .seconds(120))
        let body = String(buffer: try await response.body.collect(upTo: 64 << 20))
        for header in response.headers["set-cookie"] {
            let pair = header.split(separator: ";").first.map(String.init) ?? ""
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let value = String(pair[pair.index(after: equals)...])
            cookies[String(pair[..<equals])] = value.isEmpty ? nil : value
        }
        return (response, body)
    }

    func logIn(_ token: String) async throws {
        let (_, form) = try await send("/login")
        guard let range = form.range(of: "name=\"csrf\" value=\"") else { throw LoadError("no login form") }
        let csrf = String(form[range.upperBound...].prefix { $0 != "\"" })
        let (answer, _) = try await send("/login", method: .POST, form: "csrf=\(csrf)&token=\(token)")
        guard answer.status == .seeOther, cookies["spor_session"] != nil else { throw LoadError("login refused: \(answer.status)") }
    }

    /// The server's time (`Server-Timing`) and the client's for one GET that must answer 200.
    func time(_ path: String) async throws -> (server: Double, client: Double) {
        let start = ContinuousClock.now
        let (response, _) = try await send(path)
        let client = milliseconds(ContinuousClock.now - start)
        guard response.status == .ok else { throw LoadError("\(path): \(response.status)") }
        let timing = response.headers.first(name: "server-timing") ?? ""
        guard let server = Double(timing.replacingOccurrences(of: "app;dur=", with: "")) else { throw LoadError("no Server-Timing on \(path)") }
        return (server, client)
    }
}
