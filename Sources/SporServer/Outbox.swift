import DequeModule
import SporCRDT
import SporWire
import Synchronization

/// What a connection still has to send, in order: replies, relayed changes and
/// catch-ups. Anything may enqueue (the committer, the hub, the reading side); one
/// pump task drains it to the socket.
///
/// Order is the point: a catch-up is queued at the moment the subscription is
/// registered, so changes relayed after it are sent after it, and a subscriber
/// never receives a batch before the batches it depends on.
///
/// Bounded: when relayed messages waiting here exceed ``limit`` bytes the outbox
/// overflows and the connection is closed as a slow consumer. Nothing is lost by
/// that — everything is stored, the client catches up when it reconnects — and a
/// slow reader can never make the server hold unbounded memory or slow the others.
final class Outbox: Sendable {
    enum Item: Sendable {
        case message(SporMessage)
        case catchUp(CatchUp)
    }

    /// Send the stored batches of `document` up to and including batch `through`
    /// that a replica at `vector` lacks, then CAUGHT_UP.
    struct CatchUp: Sendable {
        let document: String
        let vector: VersionVector
        let through: Int64
    }

    private struct State {
        var items = Deque<Item>()
        var queuedBytes = 0
        var isFinished = false
        var overflowed = false
    }

    private let state = Mutex(State())
    private let wakeUp: AsyncStream<Void>.Continuation
    let wakeUps: AsyncStream<Void>
    let limit: Int
    /// Called once, when the outbox overflows: the connection must be closed now,
    /// since its pump may be stuck writing to a socket nobody reads.
    private let onOverflow: @Sendable () -> Void

    init(limit: Int, onOverflow: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.onOverflow = onOverflow
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `message`; false if the outbox is finished or has just overflowed.
    @discardableResult
    func enqueue(_ message: SporMessage) -> Bool {
        let cost = Self.cost(of: message)
        var overflowed = false
        let accepted = state.withLock { state -> Bool in
            guard !state.isFinished else { return false }
            if state.queuedBytes + cost > limit && !state.items.isEmpty {
                state.overflowed = true
                state.isFinished = true
                state.items.removeAll()
                state.queuedBytes = 0
                overflowed = true
                return false
            }
            state.items.append(.message(message))
            state.queuedBytes += cost
            return true
        }
        if overflowed {
            wakeUp.finish()
            onOverflow()
        } else {
            wakeUp.yield()
        }
        return accepted
    }

    func enqueue(_ catchUp: CatchUp) {
        let accepted = state.withLock { state -> Bool in
            guard !state.isFinished else { return false }
            state.items.append(.catchUp(catchUp))
            return true
        }
        if accepted { wakeUp.yield() }
    }

    /// Queues a last message (if any) and stops accepting more; the pump sends what
    /// is queued and ends.
    func finish(with last: SporMessage? = nil) {
        state.withLock { state in
            guard !state.isFinished else { return }
            if let last { state.items.append(.message(last)) }
            state.isFinished = true
        }
        wakeUp.yield()
        wakeUp.finish()
    }

    /// Takes the next item: a catch-up alone, or every message up to the next
    /// catch-up (so they go out in one write). Empty when nothing is queued.
    func takeNext() -> (catchUp: CatchUp?, messages: [SporMessage]) {
        state.withLock { state in
            if case let .catchUp(catchUp)? = state.items.first {
                state.items.removeFirst()
                return (catchUp, [])
            }
            var messages: [SporMessage] = []
            while case let .message(message)? = state.items.first {
                state.items.removeFirst()
                state.queuedBytes -= Self.cost(of: message)
                messages.append(message)
            }
            return (nil, messages)
        }
    }

    var overflowed: Bool { state.withLock { $0.overflowed } }

    static func cost(of message: SporMessage) -> Int {
        if case let .events(events) = message {
            return events.batches.reduce(64) { $0 + $1.count }
        }
        return 64
    }
}
