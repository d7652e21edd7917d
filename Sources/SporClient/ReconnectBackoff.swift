/// When to try the server again after a failed or dropped connection: exponential
/// backoff with full jitter (a uniformly random wait between zero and the current
/// bound, the bound doubling from ``base`` up to ``cap``).
///
/// Full jitter spreads clients that lost the server at the same moment (a server
/// restart drops everyone) over the whole window instead of letting them return in
/// synchronised waves: with N clients the server sees about N / bound connection
/// attempts per second, not N at once.
public struct ReconnectBackoff: Sendable {
    public let base: Duration
    public let cap: Duration
    private var attempt = 0

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(60)) {
        self.base = base
        self.cap = cap
    }

    /// The upper bound of the next wait: base · 2^attempts, at most `cap`.
    public var currentBound: Duration {
        let factor = 1 << min(attempt, 30)
        let bound = base * factor
        return bound > cap ? cap : bound
    }

    /// The wait before the next attempt, drawn from `generator`; grows the bound.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        let bound = currentBound
        attempt += 1
        let nanoseconds = bound.components.seconds * 1_000_000_000 + bound.components.attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }

    /// After a connection that worked: start again from `base`.
    public mutating func reset() {
        attempt = 0
    }
}
