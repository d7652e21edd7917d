import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SporServer
import SporTestSupport
import SporWire
import Testing

/// Webhooks as a receiver sees them: one signed POST per recorded process step, the
/// same delivery id on a retry after a failure, given up after the configured attempts,
/// nothing for a refused step.
@Suite("webhooks", .timeLimit(.minutes(3)))
struct WebhookTests {
    /// A local HTTP receiver that answers each request with the next status of a script
    /// (then 200) and keeps what it was sent.
    final class Receiver: Sendable {
        struct Request: Sendable {
            let path: String
            let headers: [String: String]
            let body: [UInt8]
        }

        private let state: NIOLockedValueBox<(statuses: [Int], received: [Request])>
        private let channel: Channel
        var port: Int { channel.localAddress?.port ?? 0 }
        var received: [Request] { state.withLockedValue { $0.received } }

        init(statuses: [Int]) async throws {
            let state = NIOLockedValueBox((statuses: statuses, received: [Request]()))
            self.state = state
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        func close() async { try? await channel.close() }

        /// Waits until `count` requests arrived (or 15 s passed).
        func waitFor(_ count: Int) async throws -> [Request] {
            let deadline = ContinuousClock.now + .seconds(15)
            while received.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            return received
        }

        private final class Handler: ChannelInboundHandler {
            typealias InboundIn = HTTPServerRequestPart
            typealias OutboundOut = HTTPServerResponsePart
            let state: NIOLockedValueBox<(statuses: [Int], received: [Request])>
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            init(state: NIOLockedValueBox<(statuses: [Int], received: [Request])>) { self.state = state }

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                switch unwrapInboundIn(data) {
                case let .head(requestHead): head = requestHead; body = []
                case var .body(buffer): body += buffer.readBytes(length: buffer.readableBytes) ?? []
                case .end:
                    guard let head else { return }
                    let headers = Dictionary(head.headers.map { ($0.name.lowercased(), $0.value) }) { first, _ in first }
                    let status = state.withLockedValue { state -> Int in
                        state.received.append(Request(path: head.uri, headers: headers, body: body))
                        return state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
                    }
                    var responseHeaders = HTTPHeaders()
                    responseHeaders.add(name: "Content-Length", value: "0")
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: responseHeaders))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }

    static let secret = "webhook-test-secret-0123456789"

    /// `Spor-Signature` recomputed from the body and its timestamp, as a receiver does.
    static func signatureIsValid(_ request: Receiver.Request) -> Bool {
        guard let header = request.headers["spor-signature"],
              let timestamp = header.split(separator: ",").first.flatMap({ Int64($0.dropFirst(2)) }) else { return false }
        var message = Array("\(timestamp).".utf8)
        message += request.body
        let expected = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
        return header == "t=\(timestamp),v1=\(expected)" && abs(Double(timestamp) - Date().timeIntervalSince1970) < 60
    }

    static func json(_ request: Receiver.Request) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]) ?? [:]
    }

    @Test("a submission and a qualification are each told once, signed; a failed delivery is retried with the same id; a refused step tells nothing")
    func deliveredAndRetried() async throws {
        let receiver = try await Receiver(statuses: [500])
        let endpoint = try WebhookEndpoint(url: "http://127.0.0.1:\(receiver.port)/spor", secret: Self.secret)
        var round = try await ServerAuthorityTests.Round.start { configuration in
            configuration.webhooks.endpoints = [endpoint]
            configuration.webhooks.retryBaseSeconds = 0.2
            configuration.webhooks.pollMilliseconds = 20
        }
        let version = round.replica.document.versionVector
        guard case .stepRecorded = try await ServerAuthorityTests.step(&round.aarhus, .submitForQualification, version: version) else {
            throw TestFailure("submit")
        }
        #expect(ServerAuthorityTests.code(try await ServerAuthorityTests.step(&round.aarhus, .recordQualification, outcome: "qualified")) == .forbidden)
        let first = try await receiver.waitFor(2)
        #expect(first.count == 2, "the submission, then its retry after the 500")
        try round.clock.set("2024-10-08T08:00:00Z")
        guard case .stepRecorded = try await ServerAuthorityTests.step(&round.office, .recordQualification, outcome: "qualified", note: "Fint") else {
            throw TestFailure("qualification")
        }
        let requests = try await receiver.waitFor(3)
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.received.count == 3, "nothing more: the refused step told nothing, delivered ones are not repeated")
        #expect(requests.allSatisfy { $0.path == "/spor" && $0.headers["content-type"] == "application/json" && Self.signatureIsValid($0) })
        #expect(requests.map { $0.headers["spor-event"] } == ["proposal.submitted", "proposal.submitted", "proposal.qualified"])
        #expect(requests[0].headers["spor-delivery"] == requests[1].headers["spor-delivery"], "a retry keeps the delivery id")
        #expect(requests[1].body == requests[0].body)
        #expect(requests[2].headers["spor-delivery"] != requests[0].headers["spor-delivery"])
        let submitted = Self.json(requests[0]), qualified = Self.json(requests[2])
        #expect(submitted["event"] as? String == "proposal.submitted" && submitted["proposal"] as? String == ServerAuthorityTests.Round.id)
        #expect(submitted["organisation"] as? String == "0751" && submitted["at"] as? String == "2024-09-01T10:00:00Z")
        let details = submitted["details"] as? [String: String]
        #expect(details?["step"] == "qualification" && details?["round"] == "2024-autumn" && details?["contentHash"]?.count == 64, "\(submitted)")
        #expect(qualified["organisation"] as? String == "sek" && qualified["at"] as? String == "2024-10-08T08:00:00Z")
        #expect((qualified["details"] as? [String: String])?["result"] == "qualified")
        let states = try round.server.store.webhookDeliveries()
        #expect(states.map(\.attempts) == [2, 1] && states.allSatisfy { $0.deliveredAt != nil && $0.failedAt == nil && $0.lastError == nil })
        try await round.stop()
        await receiver.close()
    }

    @Test("a receiver that keeps failing is given up after the configured attempts, the failure kept")
    func givenUp() async throws {
        let receiver = try await Receiver(statuses: [503, 503, 503, 503])
        let endpoint = try WebhookEndpoint(url: "http://127.0.0.1:\(receiver.port)/spor", secret: Self.secret, events: [.submitted])
        var round = try await ServerAuthorityTests.Round.start { configuration in
            configuration.webhooks.endpoints = [endpoint]
            configuration.webhooks.retryBaseSeconds = 0.1
            configuration.webhooks.pollMilliseconds = 20
            configuration.webhooks.maxAttempts = 3
        }
        guard case .stepRecorded = try await ServerAuthorityTests.step(&round.aarhus, .submitForQualification,
                                                                       version: round.replica.document.versionVector) else {
            throw TestFailure("submit")
        }
        _ = try await receiver.waitFor(3)
        try await Task.sleep(for: .milliseconds(800))
        #expect(receiver.received.count == 3, "three attempts, then no more")
        let state = try #require(try round.server.store.webhookDeliveries().first)
        #expect(state.attempts == 3 && state.failedAt != nil && state.deliveredAt == nil && state.lastError == "HTTP 503", "\(state)")
        try await round.stop()
        await receiver.close()
    }

    @Test("deadline reminders: once at 7 days or fewer, once at 1 day or fewer, by the server's clock; none after the submission")
    func deadlineReminders() async throws {
        let receiver = try await Receiver(statuses: [])
        let endpoint = try WebhookEndpoint(url: "http://127.0.0.1:\(receiver.port)/spor", secret: Self.secret, events: [.deadlineSoon])
        // The round's qualification deadline is 7 Oct 2024 09:00 Copenhagen time; the clock starts 1 Sep.
        var round = try await ServerAuthorityTests.Round.start { configuration in
            configuration.webhooks.endpoints = [endpoint]
            configuration.webhooks.pollMilliseconds = 20
            configuration.webhooks.reminderIntervalSeconds = 0.05
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(receiver.received.isEmpty, "36 days ahead: no reminder")
        try round.clock.set("2024-09-29T21:00:00Z")
        try await Task.sleep(for: .milliseconds(400))
        #expect(receiver.received.isEmpty, "29 Sep 23:00 in Copenhagen: 8 calendar days, not yet")
        try round.clock.set("2024-09-29T22:30:00Z")
        let first = try await receiver.waitFor(1)
        try await Task.sleep(for: .milliseconds(400))
        #expect(receiver.received.count == 1, "told once")
        let seven = try #require(first.first.map(Self.json))
        #expect(seven["event"] as? String == "proposal.deadlineSoon" && seven["proposal"] as? String == ServerAuthorityTests.Round.id)
        #expect(seven["organisation"] as? String == "0751" && seven["at"] as? String == "2024-09-29T22:30:00Z")
        #expect(seven["details"] as? [String: String] == ["step": "qualification", "deadline": "2024-10-07T07:00:00Z", "daysLeft": "7", "round": "2024-autumn"],
                "30 Sep 00:30 in Copenhagen: 7 calendar days")
        try round.clock.set("2024-10-06T12:00:00Z")
        let both = try await receiver.waitFor(2)
        #expect((both.last.map(Self.json)?["details"] as? [String: String])?["daysLeft"] == "1")
        #expect(both.allSatisfy(Self.signatureIsValid))
        // Submitted: the next step is approval (24 Oct), 18 days away: nothing more.
        guard case .stepRecorded = try await ServerAuthorityTests.step(&round.aarhus, .submitForQualification,
                                                                       version: round.replica.document.versionVector) else {
            throw TestFailure("submit")
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(receiver.received.count == 2)
        try await round.stop()
        await receiver.close()
    }

    @Test("a new comment is told once, with its id and the organisation that wrote it; other edits tell nothing")
    func commented() async throws {
        let receiver = try await Receiver(statuses: [])
        let endpoint = try WebhookEndpoint(url: "http://127.0.0.1:\(receiver.port)/spor", secret: Self.secret, events: [.commented])
        var round = try await ServerAuthorityTests.Round.start { configuration in
            configuration.webhooks.endpoints = [endpoint]
            configuration.webhooks.pollMilliseconds = 20
        }
        var base = round.replica.document.versionVector
        try round.replica.setSection(.risks, to: "Forsinket levering af sensorer og tagmaterialer.")
        guard case .pushAck = try await round.aarhus.push(try round.replica.document.encodedChanges(since: base), to: ServerAuthorityTests.Round.id) else {
            throw TestFailure("edit push")
        }
        base = round.replica.document.versionVector
        let comment = try round.replica.addComment(on: .risks, range: 0..<9, text: "Er det nok?", at: Date(timeIntervalSince1970: 1_725_000_000))
        guard case .pushAck = try await round.aarhus.push(try round.replica.document.encodedChanges(since: base), to: ServerAuthorityTests.Round.id) else {
            throw TestFailure("comment push")
        }
        let requests = try await receiver.waitFor(1)
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.received.count == 1, "the section edit told nothing; the comment once")
        let told = try #require(requests.first.map(Self.json))
        #expect(told["event"] as? String == "proposal.commented" && told["organisation"] as? String == "0751")
        #expect(told["details"] as? [String: String] == ["comment": comment.description], "\(told)")
        #expect(told["at"] as? String == "2024-09-01T10:00:00Z", "the server's clock")
        #expect(requests.allSatisfy(Self.signatureIsValid))
        try await round.stop()
        await receiver.close()
    }

    @Test("an endpoint is refused unless http(s) with a host and a secret of 16 bytes or more")
    func endpointChecked() {
        #expect(throws: ServerError.self) { try WebhookEndpoint(url: "ftp://example.org/x", secret: Self.secret) }
        #expect(throws: ServerError.self) { try WebhookEndpoint(url: "https:///x", secret: Self.secret) }
        #expect(throws: ServerError.self) { try WebhookEndpoint(url: "https://example.org/x", secret: "short") }
        #expect(throws: ServerError.self) { try WebhookEndpoint(url: "https://example.org/x", secret: Self.secret, events: []) }
    }
}
