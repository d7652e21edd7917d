import Foundation

/// The live accounts by token hash, as last read from the store, shared by every
/// open connection to re-check its token (revocation and rotation are written to the
/// database by `spor-server org …`, possibly from another process).
///
/// One read of the account table serves every connection that asks within
/// `maxAge`; concurrent askers wait for the same read. Without it each open
/// connection read the database on its first request every `maxAge`, so a thousand
/// readers pinging at once (all reconnected together after a restart) queued a
/// thousand reads in front of the pushes' and stalled relaying for ~300 ms.
///
/// Guarantee: ``accounts(readAfter:)`` returns a snapshot read no earlier than the
/// instant asked for, so a connection that re-checks on its first request more than
/// `maxAge` after its last check never acts on an account older than that.
/// Cost: O(accounts) per read — the alliance has about a hundred organisations.
actor AccountDirectory {
    struct Snapshot: Sendable {
        /// When the read began: nothing revoked before this is in `byTokenHash`.
        let readAt: ContinuousClock.Instant
        let byTokenHash: [Data: Account]
    }

    private let store: SporStore
    private let metrics: ServerMetrics
    private var latest: Snapshot?
    private var reading: Task<Snapshot, any Error>?

    init(store: SporStore, metrics: ServerMetrics) {
        self.store = store
        self.metrics = metrics
    }

    /// A snapshot whose read began at or after `instant`: the cached one if it is
    /// recent enough, otherwise a new read that concurrent callers share.
    func accounts(readAfter instant: ContinuousClock.Instant) async throws -> Snapshot {
        if let latest, latest.readAt >= instant { return latest }
        if let reading {
            let snapshot = try await reading.value
            if snapshot.readAt >= instant { return snapshot }
        }
        let store = store
        metrics.accountReads.increment()
        let read = Task {
            let start = ContinuousClock.now
            let accounts = try await store.liveAccountsByTokenHash()
            return Snapshot(readAt: start, byTokenHash: accounts)
        }
        reading = read
        defer { if reading == read { reading = nil } }
        let snapshot = try await read.value
        if latest.map({ snapshot.readAt > $0.readAt }) ?? true { latest = snapshot }
        return snapshot
    }
}
