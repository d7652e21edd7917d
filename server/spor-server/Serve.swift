import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SporServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server until SIGTERM or SIGINT.",
        discussion: """
            Prints "listening on HOST:PORT" on stdout once it accepts connections. On the first start \
            with an empty data directory it creates the secretariat's organisation and prints its \
            token once. Without TLS it listens on loopback only unless --insecure-remote is given.

            The server judges deadlines and stamps process steps by its own clock. To rehearse a \
            round (or in tests), SPOR_SERVER_NOW=ISO-8601-instant starts that clock at the given \
            instant; it runs on from there. Clients cannot set it.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: "Address to listen on; port 0 picks a free one.")
    var listen = "127.0.0.1:7070"

    @Option(help: "PEM certificate chain for TLS.")
    var tlsCert: String?

    @Option(help: "PEM private key for TLS.")
    var tlsKey: String?

    @Flag(help: "Allow a non-loopback address without TLS (TLS terminated by a proxy in front).")
    var insecureRemote = false

    @Option(help: "Serve Prometheus metrics over HTTP at HOST:PORT/metrics.")
    var metrics: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Seconds without a frame before a connection is closed.")
    var idleTimeout = 120

    @Option(help: "Seconds a new connection has to send HELLO.")
    var helloTimeout = 10

    @Option(help: "Most simultaneous connections.")
    var maxConnections = 4096

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "spor.server")
        var configuration = ServerConfiguration()
        (configuration.host, configuration.port) = try parseHostPort(listen, option: "--listen")
        if let tlsCert, let tlsKey {
            configuration.tls = .init(certificateChain: tlsCert, privateKey: tlsKey)
        }
        configuration.allowInsecureRemote = insecureRemote
        if let metrics {
            let (host, port) = try parseHostPort(metrics, option: "--metrics")
            configuration.metricsHost = host
            configuration.metricsPort = port
        }
        configuration.limits.idleTimeoutSeconds = idleTimeout
        configuration.limits.helloTimeoutSeconds = helloTimeout
        configuration.limits.maxConnections = maxConnections
        if let start = try Self.clockStart() {
            // The clock runs on from the given instant (monotonic, not the wall clock).
            let began = ContinuousClock.now
            configuration.now = {
                let elapsed = ContinuousClock.now - began
                return start.addingTimeInterval(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            logger.notice("the server's clock starts at SPOR_SERVER_NOW", metadata: ["now": "\(start)"])
        }

        let store = try reportingFailures { try data.openStore(creating: true) }
        try reportingFailures { try createSecretariatIfNew(store) }
        for round in (try? store.storedRounds().unreadable) ?? [] {
            logger.warning("a stored round cannot be read and is left out for clients; remove it with `spor-server round remove`",
                           metadata: ["round": "\(round.id)", "problem": "\(round.problem)"])
        }
        let server = try reportingFailures { try SporServer(configuration: configuration, store: store, logger: logger) }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        let announce = Task {
            guard let address = await server.listeningAddress() else { return }
            let host = address.ipAddress ?? configuration.host
            let shown = host.contains(":") ? "[\(host)]" : host
            print("listening on \(shown):\(address.port ?? configuration.port)")
            if let metricsAddress = server.metricsAddress, let port = metricsAddress.port {
                print("metrics on http://\(metricsAddress.ipAddress ?? "?"):\(port)/metrics")
            }
            fflush(nil)
        }
        defer { announce.cancel() }
        try await group.run()
    }

    /// The instant SPOR_SERVER_NOW gives, nil when it is not set.
    static func clockStart() throws -> Date? {
        guard let text = ProcessInfo.processInfo.environment["SPOR_SERVER_NOW"], !text.isEmpty else { return nil }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw ValidationError("SPOR_SERVER_NOW=\(text) is not an ISO 8601 instant (for example 2024-10-01T12:00:00Z)")
        }
        return date
    }

    /// On an empty store: the secretariat's account, with its token printed once.
    /// On a new data directory: creates the secretariat's organisation and writes its
    /// token to `secretariat-token` there, owner-only (0600). Never to stdout, which a
    /// service manager keeps in its journal.
    private func createSecretariatIfNew(_ store: SporStore) throws {
        guard try store.accounts().isEmpty else { return }
        let (account, token) = try store.addAccount(name: "Klimaalliancens sekretariat", kind: .secretariat, by: "spor-server (first start)")
        let file = (data.directory as NSString).appendingPathComponent(Self.secretariatTokenFile)
        let descriptor = open(file, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServerError(.internalError, "cannot write the secretariat's token to \(file): \(String(cString: strerror(errno)))")
        }
        fchmod(descriptor, 0o600)
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else {
            throw ServerError(.internalError, "cannot write the secretariat's token to \(file)")
        }
        print("""
            New data directory \(data.directory): created the secretariat's organisation \
            "\(account.name)" (id \(account.id)).
            Its access token is in \(file) (readable by this user only). Give it to the \
            secretariat's workspace, then delete the file:

              spor setup --server HOST:PORT --token-file \(file)

            Next steps:
              spor-server org add "Aarhus Kommune" --kind kommune --code 0751 --data \(data.directory)
              spor setup --server HOST:PORT --token-file FILE    (on each organisation's machine)
            """)
        fflush(nil)
    }

    static let secretariatTokenFile = "secretariat-token"
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
