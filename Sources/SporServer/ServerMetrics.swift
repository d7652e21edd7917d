import CHeapInfo
import CoreMetrics
import CSQLiteOptions
import Metrics
import Prometheus
import SporWire

/// The server's counters, gauges and latency histograms (swift-metrics), recorded
/// into a registry of its own so several servers in one process (tests) do not
/// share numbers. ``prometheusText()`` renders them for the `--metrics` listener.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let connectionsAccepted: CoreMetrics.Counter
    let connectionsRefused: CoreMetrics.Counter
    let connectionsOpen: CoreMetrics.Meter
    let framesReceived: CoreMetrics.Counter
    let pushes: CoreMetrics.Counter
    let pushesRefused: CoreMetrics.Counter
    /// Pushes put off because their organisation was over its share of merge time.
    let pushesDeferred: CoreMetrics.Counter
    let eventsStored: CoreMetrics.Counter
    let batchesStored: CoreMetrics.Counter
    let commits: CoreMetrics.Counter
    let relayed: CoreMetrics.Counter
    let catchUpBatches: CoreMetrics.Counter
    /// Catch-ups from nothing that started with the document's checkpoint (SNAPSHOT).
    let catchUpSnapshots: CoreMetrics.Counter
    let protocolErrors: CoreMetrics.Counter
    let slowConsumers: CoreMetrics.Counter
    /// Reads of the account table to re-check open connections' tokens (one serves
    /// every connection that re-checks within the re-check interval).
    let accountReads: CoreMetrics.Counter
    let revokedConnections: CoreMetrics.Counter
    /// Replicas built from storage: on first use, after eviction, or after a failed commit.
    let replicaLoads: CoreMetrics.Counter
    /// Replicas rebuilt because a push needed history older than their window.
    let replicaRebuilds: CoreMetrics.Counter
    /// Replicas trimmed to their window.
    let replicaTrims: CoreMetrics.Counter
    /// One replica trimmed to its window (after the commit that pushed it over).
    let trimLatency: CoreMetrics.Timer
    /// From a push's arrival to its acknowledgement being queued.
    let pushLatency: CoreMetrics.Timer
    /// One group-commit transaction, fsync included.
    let commitLatency: CoreMetrics.Timer
    /// What the process's memory is made of, read when the metrics are rendered:
    /// bytes malloc has handed out, bytes it holds free (fragmentation when it grows),
    /// and SQLite's share of the handed-out bytes (page caches and statements of all
    /// connections). Resident memory beyond their sum is code, stacks and mappings.
    let heapInUse: CoreMetrics.Gauge
    let heapFree: CoreMetrics.Gauge
    let sqliteMemory: CoreMetrics.Gauge
    /// Always 1, labelled with the release and the protocol versions served: which
    /// build answers (`spor_build_info{version="0.3.0",protocols="2-3"} 1`).
    let buildInfo: CoreMetrics.Gauge

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        connectionsAccepted = CoreMetrics.Counter(label: "spor_connections_accepted_total", factory: factory)
        connectionsRefused = CoreMetrics.Counter(label: "spor_connections_refused_total", factory: factory)
        connectionsOpen = CoreMetrics.Meter(label: "spor_connections_open", factory: factory)
        framesReceived = CoreMetrics.Counter(label: "spor_frames_received_total", factory: factory)
        pushes = CoreMetrics.Counter(label: "spor_pushes_total", factory: factory)
        pushesRefused = CoreMetrics.Counter(label: "spor_pushes_refused_total", factory: factory)
        pushesDeferred = CoreMetrics.Counter(label: "spor_pushes_deferred_total", factory: factory)
        eventsStored = CoreMetrics.Counter(label: "spor_events_stored_total", factory: factory)
        batchesStored = CoreMetrics.Counter(label: "spor_batches_stored_total", factory: factory)
        commits = CoreMetrics.Counter(label: "spor_commits_total", factory: factory)
        relayed = CoreMetrics.Counter(label: "spor_relayed_batches_total", factory: factory)
        catchUpBatches = CoreMetrics.Counter(label: "spor_catchup_batches_total", factory: factory)
        catchUpSnapshots = CoreMetrics.Counter(label: "spor_catchup_snapshots_total", factory: factory)
        protocolErrors = CoreMetrics.Counter(label: "spor_protocol_errors_total", factory: factory)
        slowConsumers = CoreMetrics.Counter(label: "spor_slow_consumers_total", factory: factory)
        accountReads = CoreMetrics.Counter(label: "spor_account_reads_total", factory: factory)
        revokedConnections = CoreMetrics.Counter(label: "spor_revoked_connections_closed_total", factory: factory)
        replicaLoads = CoreMetrics.Counter(label: "spor_replica_loads_total", factory: factory)
        replicaRebuilds = CoreMetrics.Counter(label: "spor_replica_rebuilds_total", factory: factory)
        replicaTrims = CoreMetrics.Counter(label: "spor_replica_trims_total", factory: factory)
        trimLatency = CoreMetrics.Timer(label: "spor_replica_trim_seconds", factory: factory)
        pushLatency = CoreMetrics.Timer(label: "spor_push_ack_seconds", factory: factory)
        commitLatency = CoreMetrics.Timer(label: "spor_commit_seconds", factory: factory)
        heapInUse = CoreMetrics.Gauge(label: "spor_heap_in_use_bytes", factory: factory)
        heapFree = CoreMetrics.Gauge(label: "spor_heap_free_bytes", factory: factory)
        sqliteMemory = CoreMetrics.Gauge(label: "spor_sqlite_memory_bytes", factory: factory)
        let protocols = SporProtocol.supportedVersions
        buildInfo = CoreMetrics.Gauge(label: "spor_build_info",
                                      dimensions: [("version", SporRelease.version), ("protocols", "\(protocols.lowerBound)-\(protocols.upperBound)")],
                                      factory: factory)
        buildInfo.record(1)
    }

    func prometheusText() -> String {
        // Process-wide numbers: several servers in one process (tests) all see the same.
        heapInUse.record(Int64(spor_heap_bytes_in_use()))
        heapFree.record(Int64(spor_heap_bytes_free()))
        sqliteMemory.record(spor_sqlite_memory_used())
        return registry.emitToString()
    }
}

extension CoreMetrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
