import Foundation
import SporWire

/// Everything `spor-server serve` can be told, with the defaults it runs with.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; ``SporServer/localAddress`` tells which.
    public var port = 7070
    /// Required to listen on anything but loopback without TLS.
    public var allowInsecureRemote = false
    public var tls: TLSFiles?
    /// Where Prometheus can scrape metrics over HTTP; nil: no metrics listener.
    public var metricsHost: String?
    public var metricsPort = 0

    public var limits = Limits()

    /// Where process steps are told as they are recorded (``WebhookDispatcher``).
    public var webhooks = Webhooks()

    /// The server's clock: deadlines are judged and process steps stamped by it,
    /// never by a client's. Tests set a fixed time.
    public var now: @Sendable () -> Date = { Date() }

    public init() {}

    /// Webhook endpoints and how deliveries are retried.
    public struct Webhooks: Sendable {
        public var endpoints: [WebhookEndpoint] = []
        /// Attempts per delivery before it is given up (kept as failed).
        public var maxAttempts = 8
        /// The wait after the first failure; it doubles after each (1, 2, 4 … s).
        public var retryBaseSeconds = 1.0
        /// Per attempt: to connect, and to read the answer.
        public var timeoutSeconds = 10
        /// How often the store is asked for due deliveries while none is waiting.
        public var pollMilliseconds = 250
        /// How often deadlines are looked at for `proposal.deadlineSoon` (each proposal's
        /// history is read: once an hour is plenty).
        public var reminderIntervalSeconds = 3600.0
        public init() {}
    }

    /// Certificate chain and private key, both PEM.
    public struct TLSFiles: Sendable {
        public var certificateChain: String
        public var privateKey: String
        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    /// Limits that keep one client from hurting the others (Protocol/SPEC.md, "Limits").
    public struct Limits: Sendable {
        /// Largest frame after the handshake (the handshake itself: 16 KiB).
        public var maxFrameBytes = SporProtocol.defaultMaxFrameBytes
        /// Most events in one pushed batch.
        public var maxBatchEvents = 100_000
        /// Simultaneous connections; more are refused with `tooManyConnections`.
        public var maxConnections = 4_096
        /// Connections from one IP address that have not completed their handshake
        /// (HELLO); more are refused with `tooManyConnections`. Sockets that never say
        /// HELLO hold a slot until the handshake timeout.
        public var maxHandshakingPerAddress = 64
        /// Loopback peers are not limited per address: behind a TLS-terminating proxy on
        /// the same machine every connection comes from loopback (the proxy must then
        /// limit per client address). Tests turn it off.
        public var loopbackExemptFromAddressLimit = true
        /// Connections one organisation may have open (each workspace syncing holds
        /// one); more are refused at HELLO with `tooManyConnections`.
        public var maxConnectionsPerAccount = 256
        /// Documents one connection may subscribe to.
        public var maxSubscriptionsPerConnection = 1_024
        /// Frames per second a connection may send (sustained); above it the server
        /// stops reading from that connection until the rate is back.
        public var framesPerSecond = 1_000.0
        public var frameBurst = 2_000.0
        /// Events per second a connection may push (sustained), same mechanism.
        public var eventsPerSecond = 200_000.0
        public var eventBurst = 400_000.0
        /// Seconds without any frame before the connection is closed (`idleTimeout`).
        public var idleTimeoutSeconds = 120
        /// How long an open connection trusts its token before checking again that
        /// it was not revoked or rotated: a revoked organisation's open connections
        /// are refused (`unauthenticated`) at their first request after this.
        public var accountRecheckInterval: Duration = .seconds(5)
        /// Seconds a new connection has to send its HELLO.
        public var helloTimeoutSeconds = 10
        /// Bytes of relayed messages queued for one connection before it is
        /// disconnected as a `slowConsumer` (it catches up from storage on reconnect).
        public var maxQueuedBytesPerConnection = 32 * 1024 * 1024
        /// The kernel send buffer of each client socket (SO_SNDBUF); nil: the
        /// system's default and auto-tuning. Small values make slow readers show
        /// up sooner (tests).
        public var socketSendBufferBytes: Int?
        /// Bytes of stored changes per catch-up EVENTS frame (a batch larger than
        /// this is sent alone).
        public var catchUpFrameBytes = 1024 * 1024
        /// Documents whose merged state the server keeps to check pushes against
        /// (see `ReplicaCache`); others are rebuilt from storage on their next push.
        public var cachedReplicas = 256
        /// Events of history a cached replica keeps in memory: beyond this it drops what
        /// came before a recent point that every later event has seen, keeping at least
        /// an eighth of it. A push that needs older history (an offline branch from
        /// before that point) has its replica rebuilt from storage once. Memory per
        /// document is then bounded (about 150 bytes per held event where partners
        /// type at once) however long its history grows.
        public var replicaWindowEvents = 2_048
        /// Requests (pushes, creations, members) waiting for the writer at most; a
        /// connection that submits one beyond this waits before reading its next frame,
        /// so clients pushing faster than the server stores are slowed down by TCP
        /// instead of the queue — and the server's memory — growing without bound.
        public var maxQueuedRequests = 4_096
        /// A pushed batch's body once inflated, checked against its declared size
        /// before inflating (a 1 MB push cannot make the server allocate 1 GiB). A
        /// client splits local changes at 50,000 events: a few hundred KB.
        public var maxBatchBodyBytes = 4 * 1024 * 1024
        /// A single string value (a field, a comment, a note) in a pushed batch.
        /// Proposal fields are far below it (comments 10,000 characters, notes
        /// 40,000 bytes); section texts are text operations, not values.
        public var maxValueBytes = 64 * 1024
        /// Agents (writers) one organisation may have in one document: a workspace
        /// uses one, and one more per copy or restore found.
        public var maxAgentsPerOrganisation = 256
        /// Agents in one document, all organisations: keeps every version vector the
        /// server sends for it (CAUGHT_UP, catch-ups) well inside a frame.
        public var maxAgentsPerDocument = 4_096
        /// Concurrent text runs and list slots the server may scan past to place one
        /// push's insertions (YjsMod scans the insertions made concurrently at the same
        /// place; two writers each inserting k items at the front cost about k²). More
        /// is refused with `limitExceeded`. About 8 ms of the writer at most; the real
        /// concurrent traces scan at most 2,298 in any one merge (Benchmarks/README).
        public var placementBudget = 100_000
        /// The share of the single writer's merge time one organisation may use: this
        /// many seconds per second sustained, `mergeSecondsBurst` at once. Above it its
        /// pushes are deferred (kept in order, merged once it is back within its share)
        /// and other organisations' pushes go first; nothing is refused.
        public var mergeSecondsPerSecond = 0.25
        public var mergeSecondsBurst = 0.05

        public init() {}
    }
}
