/// A token bucket: `rate` tokens per second, at most `capacity` saved up.
///
/// The server does not refuse a client over its rate; it stops reading from it for
/// as long as the debt takes to repay, so TCP pushes back on that client alone and
/// nothing it sent is dropped.
struct TokenBucket {
    let rate: Double
    let capacity: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    init(rate: Double, capacity: Double, now: ContinuousClock.Instant = .now) {
        self.rate = rate
        self.capacity = capacity
        tokens = capacity
        updated = now
    }

    /// Whether the balance, as of the last ``take(_:now:)``, is at capacity.
    var isFull: Bool { tokens >= capacity }

    /// Takes `cost` tokens (the balance may go negative) and returns how long to
    /// pause before the balance is back at zero; nil if no pause is needed.
    mutating func take(_ cost: Double, now: ContinuousClock.Instant = .now) -> Duration? {
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(capacity, tokens + seconds * rate)
        updated = now
        tokens -= cost
        guard tokens < 0 else { return nil }
        return .nanoseconds(Int64(-tokens / rate * 1e9))
    }
}
