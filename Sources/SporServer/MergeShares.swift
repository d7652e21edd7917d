/// The single writer's merge time, shared out between organisations.
///
/// Every push is merged into the server's replica of its document by the one writer,
/// so one organisation's expensive pushes (each bounded by the placement budget, but
/// many at once, or ones that need a replica rebuilt from storage) would delay every
/// other organisation's. Each organisation's merges are therefore charged to its own
/// ``TokenBucket`` of writer seconds: while its balance is below zero the committer
/// defers its pushes — keeps them, in order, and merges them once the balance is back
/// — and the others' pushes go on. Nothing is refused for being expensive here; an
/// organisation over its share is only slowed down.
///
/// Only the writer loop charges and asks; the buckets of organisations back at full
/// balance are dropped, so the table holds only recently busy organisations.
struct MergeShares {
    /// Seconds of merging per second one organisation may use, sustained.
    let rate: Double
    /// Seconds of merging one organisation may use at once before it is deferred.
    let burst: Double
    private var buckets: [String: TokenBucket] = [:]

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Charges `organisation` for `duration` of the writer's time.
    mutating func charge(_ organisation: String, _ duration: Duration, now: ContinuousClock.Instant = .now) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        var bucket = buckets[organisation] ?? TokenBucket(rate: rate, capacity: burst, now: now)
        _ = bucket.take(seconds, now: now)
        buckets[organisation] = bucket
    }

    /// How long until `organisation`'s balance is back at zero; nil if it is not below.
    mutating func debt(of organisation: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard var bucket = buckets[organisation] else { return nil }
        let pause = bucket.take(0, now: now)
        if pause == nil && bucket.isFull { buckets[organisation] = nil } else { buckets[organisation] = bucket }
        return pause
    }
}
