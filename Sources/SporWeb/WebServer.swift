import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Mustache
import NIOCore
import NIOSSL
import ServiceLifecycle
import SporDocuments
import SporProposal
import SporServer
import Synchronization

/// Where and how the web overview listens.
public struct WebConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 7080
    /// The same certificate and key as the sync port, when given.
    public var tls: SporServer.Configuration.TLSFiles?
    /// Listen on a non-loopback address without TLS: a proxy in front terminates it.
    /// Cookies are then still marked Secure (the browser speaks HTTPS to the proxy).
    public var allowInsecureRemote = false
    /// How long a login lasts (absolute; default 8 hours, a working day).
    public var sessionLifetime: TimeInterval = 8 * 3600
    public var maxSessions = 10_000
    /// The server's clock (statuses, deadlines, session expiry): the sync server's.
    public var now: @Sendable () -> Date = { Date() }

    public init() {}

    /// Cookies get the Secure attribute whenever the browser reaches the page over HTTPS.
    var secureCookies: Bool { tls != nil || allowInsecureRemote }
}

/// The web overview, `spor-server serve --web HOST:PORT`: the secretariat's round at a
/// glance and each member's own proposals, read-only, server-rendered, no JavaScript.
///
/// Access is the sync protocol's: an organisation logs in with its token (the same
/// account lookup), sees the documents LIST would give it (``SporStore/documentHeads(visibleTo:)``)
/// and reads a proposal only if ``ProposalPolicy`` allows `read` for its standing in the
/// members table; an outsider gets the answer an unknown proposal gets (404).
///
/// Pages are computed from the stored histories through ``ProposalCache`` (recomputed
/// only when a document's head moved). Every response carries a strict Content
/// Security Policy (no scripts at all), `nosniff`, no framing, and `no-store` unless it
/// is the stylesheet. Forms (login, logout) carry a CSRF token checked in constant
/// time, and a request whose `Origin` or `Sec-Fetch-Site` says it came from another
/// site is refused.
public final class SporWebServer: Service, Sendable {
    public let configuration: WebConfiguration
    let store: SporStore
    let logger: Logger
    let sessions: WebSessions
    let attempts: LoginAttempts
    let cache: ProposalCache
    let templates: MustacheLibrary
    private let address = Mutex<SocketAddress?>(nil)
    private let started: AsyncStream<SocketAddress?>
    private let startedContinuation: AsyncStream<SocketAddress?>.Continuation

    static let sessionCookie = "spor_session"
    static let loginCookie = "spor_login"
    static let languageCookie = "spor_lang"
    /// Bounds on what a request may carry.
    static let maxFormBytes = 8 * 1024
    static let maxTokenBytes = 200
    static let maxDocumentIDBytes = 200

    public init(configuration: WebConfiguration, store: SporStore, logger: Logger = Logger(label: "spor.web")) throws {
        try SporServer.requireTLSOffLoopback(host: configuration.host, tls: configuration.tls != nil,
                                             allowInsecureRemote: configuration.allowInsecureRemote, what: "serve the web overview")
        self.configuration = configuration
        self.store = store
        self.logger = logger
        sessions = WebSessions(lifetime: configuration.sessionLifetime, capacity: configuration.maxSessions, now: configuration.now)
        attempts = LoginAttempts(now: configuration.now)
        cache = ProposalCache(store: store, logger: logger)
        templates = try WebTemplates.library()
        (started, startedContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The address the web port accepts connections on, once it does (nil if it failed to start).
    public func listeningAddress() async -> SocketAddress? {
        if let address = address.withLock({ $0 }) { return address }
        for await address in started { return address }
        return address.withLock { $0 }
    }

    public func run() async throws {
        let router = Router(context: WebRequestContext.self)
        router.add(middleware: ServerTiming())
        router.add(middleware: SecurityHeaders(hsts: configuration.tls != nil))
        router.add(middleware: ProblemPages(server: self))
        WebRoutes(server: self).register(on: router)
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            server = try .tls(.http1(), tlsConfiguration: SporServer.tlsConfiguration(tls))
        } else {
            server = .http1()
        }
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { [self] channel in
                address.withLock { $0 = channel.localAddress }
                startedContinuation.yield(channel.localAddress)
                logger.info("web overview listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: logger)
        do {
            try await app.run()
        } catch {
            startedContinuation.yield(nil)
            throw error
        }
        startedContinuation.finish()
    }
}

/// A request's context: Hummingbird's, plus the peer's address (login attempts are
/// limited per address).
struct WebRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// `Server-Timing: app;dur=MILLISECONDS` on every response: the time the server spent
/// on the request, from routing to the response's head (what `spor-loadgen web`
/// reports as server time, and what a browser's developer tools show).
struct ServerTiming: RouterMiddleware {
    typealias Context = WebRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        response.headers[.init("Server-Timing")!] = "app;dur=" + String(format: "%.2f", milliseconds)
        return response
    }
}

/// Headers on every response: no scripts, styles and images only from this origin,
/// forms only to it, never framed; no sniffing; no referrer beyond the origin; nothing
/// but the stylesheet kept in a cache (the pages show what an account may read).
struct SecurityHeaders: RouterMiddleware {
    typealias Context = WebRequestContext
    let hsts: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if hsts { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// Turns an error no handler answered into a page a person can read (and logs it):
/// Hummingbird's own errors (404, 413 …) keep their status.
struct ProblemPages: RouterMiddleware {
    typealias Context = WebRequestContext
    let server: SporWebServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let text = WebRoutes.text(for: request)
            let notFound = error.status == .notFound
            return server.problem(
                status: error.status, text: text,
                heading: notFound ? text.say("Siden findes ikke", "There is no such page") : text.say("Forespørgslen kan ikke besvares", "The request cannot be answered"),
                message: notFound ? text.say("Adressen findes ikke på denne server.", "The address does not exist on this server.")
                                  : "\(error.status.code) \(error.status.reasonPhrase)")
        } catch {
            server.logger.error("a web request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            let text = WebRoutes.text(for: request)
            return server.problem(status: .internalServerError, text: text,
                                  heading: text.say("Noget gik galt på serveren", "Something went wrong on the server"),
                                  message: text.say("Prøv igen om lidt. Sker det igen, så bed sekretariatets it-ansvarlige se i serverens log.",
                                                    "Try again in a moment. If it happens again, ask the secretariat's administrator to look at the server's log."))
        }
    }
}

extension SporWebServer {
    /// A page in the layout: `template` rendered with `view`, then the layout around it.
    func page(_ template: String, _ view: Any, title: String, text: WebText, request: Request, account: String? = nil, csrf: String = "",
              status: HTTPResponse.Status = .ok) -> Response {
        let path = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        return laidOut(templates.render(view, withTemplate: template) ?? "", title: title, text: text, path: WebPages.queryEncoded(path),
                       account: account, csrf: csrf, status: status)
    }

    /// `body` inside the layout, as an HTML response.
    private func laidOut(_ body: String, title: String, text: WebText, path: String, account: String?, csrf: String,
                         status: HTTPResponse.Status) -> Response {
        let layout = WebPages.Layout(t: .init(code: text.code), l: text.labels, title: title, path: path, account: account, csrf: csrf, body: body)
        let html = templates.render(layout, withTemplate: "layout") ?? ""
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func problem(status: HTTPResponse.Status, text: WebText, heading: String, message: String,
                 link: (target: String, text: String)? = nil) -> Response {
        let view = WebPages.Problem(heading: heading, message: message, linkTarget: link?.target ?? "/proposals",
                                    linkText: link?.text ?? text.say("Til forsiden", "To the front page"))
        return laidOut(templates.render(view, withTemplate: "problem") ?? "", title: heading, text: text, path: "%2F",
                       account: nil, csrf: "", status: status)
    }
}
