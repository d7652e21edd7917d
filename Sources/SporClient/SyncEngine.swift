import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SporCRDT
import SporProposal
import SporWire
import SporWireClient

/// Where a sync is, for a progress display.
public struct SyncProgress: Sendable, Hashable {
    /// Documents subscribed, and how many of them are caught up.
    public var documents = 0
    public var documentsCaughtUp = 0
    /// Events received from the server so far, and about how many it has that the
    /// workspace lacks (from the server's document list; 0 when unknown).
    public var eventsReceived = 0
    public var eventsExpected = 0
    /// Outbox entries acknowledged by the server in this sync.
    public var changesPushed = 0
}

/// Something a watching sync did after catching up.
public enum SyncActivity: Sendable, Hashable {
    /// A partner's changes arrived and were stored.
    case received(document: String, events: Int)
    /// A local change was acknowledged by the server.
    case sent(document: String, events: Int)
}

/// What a sync did.
public struct SyncReport: Sendable, Hashable {
    public struct Refusal: Sendable, Hashable {
        public let document: String
        public let message: String
    }

    public struct Membership: Sendable, Hashable {
        public let document: String
        public let organisation: String
        /// The request the server carried out.
        public let change: MembershipChange
    }

    /// A process step the server took: what it certified, by its clock.
    public struct RecordedStep: Sendable, Hashable {
        public let document: String
        public let kind: StepRequest.Kind
        /// The content hash of the submitted version (submissions), else empty.
        public let contentHash: String
        public let at: Date
    }

    /// A proposal made before protocol 2 whose id changed before it was created on the
    /// server (new ids start with the organisation's id).
    public struct Renamed: Sendable, Hashable {
        public let from: String
        public let to: String
    }

    /// New events received per document.
    public var receivedEvents: [String: Int] = [:]
    /// Documents the workspace did not have before.
    public var newDocuments: [String] = []
    /// Proposals made offline that the server now has.
    public var createdOnServer: [String] = []
    public var pushedChanges = 0
    public var pushedEvents = 0
    /// Membership changes the server carried out.
    public var membershipChanges: [Membership] = []
    /// Process steps the server took.
    public var recordedSteps: [RecordedStep] = []
    /// Proposals the organisation no longer has access to (removed by the lead or the
    /// secretariat): the local copy stays, nothing of it syncs.
    public var accessEnded: [String] = []
    public var renamed: [Renamed] = []
    /// Documents where the server had other events under this workspace's own agent
    /// (it is a copy or a restored backup), and what the sync did about it.
    public var forks: [ForkRepair] = []
    /// Outbox entries the server refused; they stay in the outbox.
    public var refusals: [Refusal] = []
    /// Rounds the server published that this workspace could not read (a date it
    /// cannot parse, an id taken by a built-in round), each with why: left out, the
    /// other rounds and everything else synced.
    public var skippedRounds: [String] = []
    /// Outbox entries still waiting after the sync.
    public var outboxRemaining = 0

    public var totalReceivedEvents: Int { receivedEvents.values.reduce(0, +) }
}

/// Exchanges a workspace's changes with its server: connect, authenticate, list the
/// proposals the organisation may see, subscribe to each with the version the
/// workspace has (the server sends only what is missing), create proposals made
/// offline, push the outbox in order, and — when watching — apply partners' changes
/// as they arrive.
///
/// Every merge is checked before it is stored, and stored before the next frame is
/// read; an outbox entry is removed only after the server acknowledged it durably.
/// So the engine can stop at any moment (crash, kill, dropped connection) and the
/// next sync resumes from the versions both sides have, with nothing lost and
/// nothing applied twice.
///
/// One engine runs per workspace (``SyncLock``); the editor may change the workspace
/// meanwhile, and a watching engine sends those changes within ``pollInterval``.
public final class SyncEngine: Sendable {
    public let workspace: Workspace
    let clientName: String
    /// How often a watching engine looks for new local changes.
    public static let pollInterval: Duration = .milliseconds(250)
    /// How often a watching engine asks the server for proposals it was added to.
    public static let relistInterval: Duration = .seconds(15)
    /// How long a session waits for the server to answer: a request (or a
    /// subscription's catch-up) unanswered for this long, or a ping unanswered for
    /// this long, ends the session with `timeout` — `sync` then fails and `watch`
    /// reconnects and sends what is unacknowledged again.
    public let stallTimeout: Duration
    public static let defaultStallTimeout: Duration = .seconds(30)

    public init(workspace: Workspace, clientName: String = "spor", stallTimeout: Duration = SyncEngine.defaultStallTimeout) {
        self.workspace = workspace
        self.clientName = clientName
        self.stallTimeout = stallTimeout
    }

    /// One complete exchange: returns when the workspace has everything the server
    /// had and the server has every outbox entry it accepts. A connection that drops
    /// midway is retried (up to three times, with backoff); an unreachable server or
    /// a refused token throws at once.
    public func sync(progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws -> SyncReport {
        var backoff = ReconnectBackoff(base: .milliseconds(200), cap: .seconds(2))
        var generator = SystemRandomNumberGenerator()
        var attempts = 0
        while true {
            do {
                let (connection, welcome, identity) = try await connect()
                return try await SyncSession(engine: self, connection: connection, welcome: welcome, agent: identity.agent,
                                             watching: false, progress: progress).run()
            } catch let error as SyncError where error.code == .connectionLost && attempts < 3 {
                attempts += 1
                try await Task.sleep(for: backoff.nextDelay(using: &generator))
            }
        }
    }

    /// Keeps the workspace in sync until the task is cancelled: like ``sync(progress:)``,
    /// then stays connected, sending local changes as they are saved and storing
    /// partners' as they arrive. Reconnects after any transient failure with
    /// ``ReconnectBackoff`` (reset after a connection that worked), telling `onRetry`
    /// the failure and the wait; throws a failure that retrying cannot fix (a
    /// revoked token).
    public func watch(progress: (@Sendable (SyncProgress) -> Void)? = nil,
                      onCaughtUp: (@Sendable (SyncReport) -> Void)? = nil,
                      onActivity: (@Sendable (SyncActivity) -> Void)? = nil,
                      onRetry: (@Sendable (SyncError, Duration) -> Void)? = nil,
                      backoff: ReconnectBackoff = ReconnectBackoff()) async throws {
        var backoff = backoff
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            let failure: SyncError
            do {
                let (connection, welcome, identity) = try await connect()
                backoff.reset()
                _ = try await SyncSession(engine: self, connection: connection, welcome: welcome, agent: identity.agent, watching: true,
                                          progress: progress, onCaughtUp: onCaughtUp, onActivity: onActivity).run()
                failure = SyncError(.connectionLost, "the server closed the connection", danish: "serveren lukkede forbindelsen")
            } catch let error as SyncError where error.isTransient {
                failure = error
            } catch is CancellationError {
                return
            }
            let delay = backoff.nextDelay(using: &generator)
            onRetry?(failure, delay)
            do { try await Task.sleep(for: delay) } catch { return }
        }
    }

    /// Connects and authenticates; throws ``SyncError``.
    func connect() async throws -> (WireConnection, SporMessage.Welcome, WorkspaceIdentity) {
        let (stored, identity) = try await workspace.connectionSettings()
        guard let settings = stored else {
            throw WorkspaceError(.notSetUp, "this workspace (\(workspace.directory)) has no server",
                                 hint: "Run `spor setup --server HOST:PORT --token TOKEN`.", danish: "dette arbejdsområde (\(workspace.directory)) har ingen server", danishHint: "Kør `spor setup --server VÆRT:PORT --token TOKEN`.")
        }
        let (connection, welcome) = try await Self.handshake(settings: settings, clientName: clientName,
                                                             answerTimeout: stallTimeout)
        guard welcome.organisation == identity.organisation else {
            await connection.close()
            throw SyncError(.wrongOrganisation,
                            "the token now belongs to \(welcome.organisationName) (\(welcome.organisation)), but this workspace is \(identity.organisationName)'s",
                            hint: "Set this workspace up again with \(identity.organisationName)'s token, or use another SPOR_HOME.", danish: "nøglen tilhører nu \(welcome.organisationName) (\(welcome.organisation)), men dette arbejdsområde er \(identity.organisationName)s", danishHint: "Opsæt arbejdsområdet igen med \(identity.organisationName)s nøgle, eller brug et andet SPOR_HOME.")
        }
        return (connection, welcome, identity)
    }

    /// Connects `workspace` to the server in `settings`: authenticates, stores the
    /// server and the organisation the token belongs to, and the server's rounds.
    /// What `spor setup` does; throws ``SyncError`` or ``WorkspaceError``.
    public static func setUp(_ workspace: Workspace, settings: ServerSettings, clientName: String) async throws -> WorkspaceIdentity {
        let (connection, welcome) = try await handshake(settings: settings, clientName: clientName)
        do {
            try await connection.send(.listRounds(request: 1))
            let reply: SporMessage? = try await withTimeout(.seconds(10)) { () async throws -> SporMessage? in
                var messages = connection.messages.makeAsyncIterator()
                while let message = try await messages.next() {
                    switch message {
                    case .rounds, .error: return message
                    default: continue
                    }
                }
                return nil
            }
            await connection.close()
            let identity = try workspace.configure(server: settings, organisation: welcome.organisation,
                                                   organisationName: welcome.organisationName,
                                                   organisationKind: welcome.organisationKind, agentPrefix: welcome.agentPrefix)
            if case let .rounds(_, entries)? = reply { _ = try await workspace.storeServerRounds(entries) }
            return identity
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Opens a connection to `settings` and exchanges HELLO/WELCOME: how `spor
    /// setup` learns which organisation a token belongs to. Throws `timeout` if the
    /// server sends nothing within `answerTimeout` (a sync engine passes its
    /// ``stallTimeout``: one bound on how long the client waits for any answer).
    public static func handshake(settings: ServerSettings, clientName: String,
                                 answerTimeout: Duration = .seconds(10)) async throws -> (WireConnection, SporMessage.Welcome) {
        let connection: WireConnection
        do {
            let tls = settings.tls ? WireConnection.TLSOptions(trust: settings.caFile.map { .caFile($0) } ?? .system) : nil
            connection = try await WireConnection.connect(host: settings.host, port: settings.port, tls: tls,
                                                          connectTimeout: .seconds(5))
        } catch {
            throw SyncError(.unreachable, "cannot reach the server at \(settings.address): \(describe(error))",
                            hint: "Check the address and your network; local work stays in the outbox until the next sync.", danish: "kan ikke nå serveren på \(settings.address): \(describe(error))", danishHint: "Tjek adressen og dit netværk; dit lokale arbejde venter i udbakken til næste synkronisering.")
        }
        do {
            do {
                try await connection.send(.hello(.init(token: settings.token, client: clientName)))
            } catch {
                // The channel closed under the write: the reason (a refused TLS
                // certificate, a reset) is what ended the message stream.
                var messages = connection.messages.makeAsyncIterator()
                _ = try await messages.next()
                throw error
            }
            let first = try await withTimeout(answerTimeout) {
                var messages = connection.messages.makeAsyncIterator()
                return try await messages.next()
            }
            switch first {
            case let .welcome(welcome)?:
                return (connection, welcome)
            case let .error(report)? where report.knownCode == .unauthenticated:
                await connection.close()
                throw SyncError(.authenticationFailed, "the server at \(settings.address) refused the token: \(report.message)",
                                hint: "The token may be wrong or revoked; ask the secretariat for a new one and run "
                                    + "`spor setup --server \(settings.address) --token NEW`. Local work stays in the outbox.", danish: "serveren på \(settings.address) afviste nøglen: \(report.message)", danishHint: "Nøglen kan være forkert eller tilbagekaldt; bed sekretariatet om en ny, og kør " + "`spor setup --server \(settings.address) --token NY`. Dit lokale arbejde venter i udbakken.")
            case let .error(report)? where report.knownCode == .unsupportedVersion:
                await connection.close()
                throw SyncError(.incompatibleServer, "the server speaks another protocol version: \(report.message)",
                                hint: "Update spor.", danish: "serveren taler en anden protokolversion: \(report.message)", danishHint: "Opdatér spor.")
            case let .error(report)?:
                await connection.close()
                throw SyncError(report.knownCode == .tooManyConnections || report.knownCode == .shuttingDown ? .connectionLost : .incompatibleServer,
                                "the server refused the connection: \(report.message)")
            case let other?:
                await connection.close()
                throw SyncError(.incompatibleServer, "\(settings.address) answered HELLO with \(other.type), not WELCOME",
                                hint: "Is this a Spor server?", danish: "\(settings.address) svarede HELLO med \(other.type), ikke WELCOME", danishHint: "Er det en Spor-server?")
            case nil:
                // Often the network or a server under restart; retried by a watching sync.
                throw SyncError(.connectionLost, "\(settings.address) closed the connection without answering HELLO",
                                hint: "Is this a Spor server (and is TLS set up the same on both sides)?", danish: "\(settings.address) lukkede forbindelsen uden at svare på HELLO", danishHint: "Er det en Spor-server (og er TLS sat op ens i begge ender)?")
            }
        } catch let error as SyncError {
            await connection.close()
            throw error
        } catch let error as WireError where error.isTruncatedAtClose {
            await connection.close()
            throw SyncError(.connectionLost, "the connection to \(settings.address) broke during the handshake", danish: "forbindelsen til \(settings.address) blev afbrudt under opkoblingen")
        } catch is WireError {
            await connection.close()
            throw SyncError(.incompatibleServer, "\(settings.address) does not speak the Spor protocol",
                            hint: "Check the address (and whether the server expects TLS).", danish: "\(settings.address) taler ikke Spor-protokollen", danishHint: "Tjek adressen (og om serveren bruger TLS).")
        } catch let error as NIOSSLError {
            await connection.close()
            throw SyncError(.unreachable, "cannot set up TLS with \(settings.address): the server's certificate was not accepted (\(error))",
                            hint: settings.caFile == nil
                                ? "If the server uses a private CA, give its certificate: spor setup … --ca-file CA.pem"
                                : "Check that \(settings.caFile ?? "") is the CA that signed the server's certificate, and the host name.", danish: "kan ikke oprette TLS med \(settings.address): serverens certifikat blev ikke godtaget (\(error))", danishHint: settings.caFile == nil ? "Bruger serveren en privat CA, så angiv dens certifikat: spor setup … --ca-file CA.pem" : "Tjek, at \(settings.caFile ?? "") er den CA, der har underskrevet serverens certifikat, og værtsnavnet.")
        } catch {
            await connection.close()
            throw SyncError(.unreachable, "cannot talk to the server at \(settings.address): \(describe(error))",
                            hint: "Local work stays in the outbox until the next sync.", danish: "kan ikke tale med serveren på \(settings.address): \(describe(error))", danishHint: "Dit lokale arbejde venter i udbakken til næste synkronisering.")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if case ChannelError.connectTimeout? = error as? ChannelError { return "no answer within 5 s" }
        return "\(error)"
    }
}

/// Runs `body`, throwing ``SyncError/Code-swift.enum/timeout`` if it takes longer
/// than `limit`.
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw SyncError(.timeout, "the server did not answer within \(limit)", danish: "serveren svarede ikke inden for \(limit)")
        }
        return result
    }
}
