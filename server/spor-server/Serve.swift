import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SporServer
import SporWeb

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

            --config FILE reads these settings from a YAML file (docs/DEPLOYMENT.md); a flag \
            given on the command line wins over the file, and $SPOR_DATA over its data.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: "A YAML configuration file with these settings (flags win over it).")
    var config: String?

    @Option(help: "Address to listen on; port 0 picks a free one (default 127.0.0.1:7070).")
    var listen: String?

    @Option(help: "PEM certificate chain for TLS.")
    var tlsCert: String?

    @Option(help: "PEM private key for TLS.")
    var tlsKey: String?

    @Flag(help: "Allow a non-loopback address without TLS (TLS terminated by a proxy in front).")
    var insecureRemote = false

    @Option(help: "The operations port: /metrics (Prometheus), /healthz and /readyz over HTTP at HOST:PORT.")
    var metrics: String?

    @Option(help: "The web overview at HOST:PORT (off by default): login with an organisation's token, the round's table, each proposal's page. TLS as for --listen.")
    var web: String?

    @Option(help: "Hours a web login lasts (default 8).")
    var webSessionHours: Double?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info).")
    var logLevel: Logger.Level?

    @Option(help: "Log lines as text (default) or json (one object per line).")
    var logFormat: LogFormat?

    @Option(help: "Seconds without a frame before a connection is closed (default 120).")
    var idleTimeout: Int?

    @Option(help: "Seconds a new connection has to send HELLO (default 10).")
    var helloTimeout: Int?

    @Option(help: "Most simultaneous connections (default 4096).")
    var maxConnections: Int?

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        let file = try reportingFailures { try config.map(ConfigurationFile.load) }
        let level = logLevel ?? file?.log?.level ?? .info
        switch logFormat ?? file?.log?.format ?? .text {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        }
        let logger = Logger(label: "spor.server")
        var configuration = ServerConfiguration()
        (configuration.host, configuration.port) = try parseHostPort(listen ?? file?.listen ?? "127.0.0.1:7070", option: "--listen")
        if let tlsCert, let tlsKey {
            configuration.tls = .init(certificateChain: tlsCert, privateKey: tlsKey)
        } else if let tls = file?.tls {
            configuration.tls = .init(certificateChain: tls.cert, privateKey: tls.key)
        }
        configuration.allowInsecureRemote = insecureRemote || file?.insecureRemote == true
        if let metrics = metrics ?? file?.metrics {
            let (host, port) = try parseHostPort(metrics, option: "--metrics")
            configuration.metricsHost = host
            configuration.metricsPort = port
        }
        configuration.webhooks.endpoints = try reportingFailures { try file?.webhookEndpoints() ?? [] }
        configuration.limits.idleTimeoutSeconds = idleTimeout ?? file?.limits?.idleTimeout ?? 120
        configuration.limits.helloTimeoutSeconds = helloTimeout ?? file?.limits?.helloTimeout ?? 10
        configuration.limits.maxConnections = maxConnections ?? file?.limits?.maxConnections ?? 4096
        for (name, value) in [("idleTimeout", configuration.limits.idleTimeoutSeconds), ("helloTimeout", configuration.limits.helloTimeoutSeconds),
                              ("maxConnections", configuration.limits.maxConnections)] where value < 1 {
            try reportingFailures { throw CommandFailure(exitCode: 2, message: "\(name) must be at least 1, not \(value)") }
        }
        if let start = try Self.clockStart() {
            // The clock runs on from the given instant (monotonic, not the wall clock).
            let began = ContinuousClock.now
            configuration.now = {
                let elapsed = ContinuousClock.now - began
                return start.addingTimeInterval(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            logger.notice("the server's clock starts at SPOR_SERVER_NOW", metadata: ["now": "\(start)"])
        }

        var data = self.data
        if data.data == nil, ProcessInfo.processInfo.environment["SPOR_DATA"] == nil { data.data = file?.data }
        let store = try reportingFailures { [data] in try data.openStore(creating: true) }
        try reportingFailures { [data] in try Self.createSecretariatIfNew(store, directory: data.directory) }
        for round in (try? store.storedRounds().unreadable) ?? [] {
            logger.warning("a stored round cannot be read and is left out for clients; remove it with `spor-server round remove`",
                           metadata: ["round": "\(round.id)", "problem": "\(round.problem)"])
        }
        let server = try reportingFailures { try SporServer(configuration: configuration, store: store, logger: logger) }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server)]
        var webServer: SporWebServer?
        if let web = web ?? file?.web {
            var webConfiguration = WebConfiguration()
            (webConfiguration.host, webConfiguration.port) = try parseHostPort(web, option: "--web")
            webConfiguration.tls = configuration.tls
            webConfiguration.allowInsecureRemote = configuration.allowInsecureRemote
            webConfiguration.now = configuration.now
            let hours = webSessionHours ?? file?.webSessionHours ?? 8
            guard hours > 0, hours <= 24 * 30 else {
                try reportingFailures { throw CommandFailure(exitCode: 2, message: "webSessionHours must be more than 0 and at most 720, not \(hours)") }
                return
            }
            webConfiguration.sessionLifetime = hours * 3600
            let made = try reportingFailures { [webConfiguration] in try SporWebServer(configuration: webConfiguration, store: store, logger: Logger(label: "spor.web")) }
            services.append(.init(service: made))
            webServer = made
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
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
            if let webServer, let webAddress = await webServer.listeningAddress(), let port = webAddress.port {
                let host = webAddress.ipAddress ?? "?"
                print("web overview on \(configuration.tls == nil ? "http" : "https")://\(host.contains(":") ? "[\(host)]" : host):\(port)/")
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
    private static func createSecretariatIfNew(_ store: SporStore, directory: String) throws {
        guard try store.accounts().isEmpty else { return }
        let (account, token) = try store.addAccount(name: "Klimaalliancens sekretariat", kind: .secretariat, by: "spor-server (first start)")
        let file = (directory as NSString).appendingPathComponent(Self.secretariatTokenFile)
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
            New data directory \(directory): created the secretariat's organisation \
            "\(account.name)" (id \(account.id)).
            Its access token is in \(file) (readable by this user only). Give it to the \
            secretariat's workspace, then delete the file:

              spor setup --server HOST:PORT --token-file \(file)

            Next steps:
              spor-server org add "Aarhus Kommune" --kind kommune --code 0751 --data \(directory)
              spor setup --server HOST:PORT --token-file FILE    (on each organisation's machine)
            """)
        fflush(nil)
    }

    static let secretariatTokenFile = "secretariat-token"
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
