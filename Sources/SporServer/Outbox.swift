import DequeModule
import NIOCore
import SporCRDT
import SporWire
import Synchronization

/// What a connection still has to send, in order: replies, relayed changes and
/// catch-ups, as encoded frames. Anything may enqueue (the committer, the hub, the
/// reading side); the queue is drained on the channel's event loop, straight into
/// the channel, with one flush per drain.
///
/// Order is the point: a catch-up is queued at the moment the subscription is
/// registered, so changes relayed after it are sent after it, and a subscriber
/// never receives a batch before the batches it depends on. While a catch-up is
/// being sent (it reads the store, so it runs as a task) nothing behind it is
/// written; the drain resumes when its last frame has been written to the socket.
///
/// Relayed frames are encoded once per batch by the hub and shared by every
/// subscriber's outbox (a `ByteBuffer` is copy-on-write and only read here).
///
/// Bounded: the drain hands frames to the channel only while the channel is
/// writable; otherwise it waits until what it wrote has reached the socket. When the
/// frames waiting here exceed ``limit`` bytes the outbox overflows and the connection
/// is closed as a slow consumer. Nothing is lost by that — everything is stored, the
/// client catches up when it reconnects — and a slow reader can never make the
/// server hold unbounded memory or slow the others.
///
/// End: after ``finish(with:)`` and the last frame written, the outbox half-closes
/// the connection's output (the client reads everything, sees end of stream and
/// closes) and closes the channel after ``closeGracePeriod`` if the client does not.
final class Outbox: Sendable {
    /// Send the stored batches of `document` up to and including batch `through`
    /// that a replica at `vector` lacks, then CAUGHT_UP.
    struct CatchUp: Sendable {
        let document: String
        let vector: VersionVector
        let through: Int64
        /// Whether the connection speaks protocol 3: EVENTS carry stored times.
        let storedTimes: Bool
        /// Whether it speaks protocol 4: a catch-up from nothing may start with SNAPSHOT.
        let snapshots: Bool

        /// About what it holds in memory while queued.
        var heldBytes: Int {
            64 + document.utf8.count + vector.agents.reduce(0) { $0 + $1.name.utf8.count + 24 }
        }
    }

    /// Sends one catch-up through the channel and returns once its last frame is
    /// written; throws if the channel failed.
    typealias CatchUpSender = @Sendable (CatchUp, Channel) async throws -> Void

    private enum Item {
        case frame(ByteBuffer)
        case catchUp(CatchUp)
    }

    private struct State {
        var items = Deque<Item>()
        var queuedBytes = 0
        /// Accepts nothing more; set by finish, overflow or a failed catch-up.
        var isFinished = false
        var overflowed = false
        /// A drain is scheduled or running, or a catch-up is being sent. Exactly one
        /// of these at a time, so frames are written in queue order.
        var isDraining = false
        /// ``end`` has been fulfilled.
        var hasEnded = false
    }

    /// What one step of a drain does next.
    private enum Step {
        case write([ByteBuffer])
        case sendCatchUp(CatchUp)
        case pause
        case end(overflowed: Bool)
    }

    private let state = Mutex(State())
    let channel: Channel
    let limit: Int
    private let sendCatchUp: CatchUpSender
    /// Called once, when the outbox overflows: the connection must be closed now,
    /// since the socket may be stuck on a client that does not read.
    private let onOverflow: @Sendable () -> Void
    private let ended: EventLoopPromise<Void>

    static let closeGracePeriod: TimeAmount = .seconds(2)

    init(channel: Channel, limit: Int, sendCatchUp: @escaping CatchUpSender, onOverflow: @escaping @Sendable () -> Void) {
        self.channel = channel
        self.limit = limit
        self.sendCatchUp = sendCatchUp
        self.onOverflow = onOverflow
        ended = channel.eventLoop.makePromise()
    }

    deinit {
        // An outbox dropped before it finished (its connection never got far enough)
        // leaves nobody waiting.
        if !state.withLock({ $0.hasEnded }) { ended.succeed() }
    }

    /// Succeeds when the outbox has finished and everything queued before has been
    /// written (or can no longer be, because the connection failed or overflowed).
    var end: EventLoopFuture<Void> { ended.futureResult }

    /// Encodes and queues `message`; false if the outbox is finished or has just
    /// overflowed.
    @discardableResult
    func enqueue(_ message: SporMessage) -> Bool {
        enqueue(frame: Self.encode(message, allocator: channel.allocator))
    }

    /// Queues an encoded frame (possibly shared with other outboxes); false if the
    /// outbox is finished or has just overflowed.
    @discardableResult
    func enqueue(frame: ByteBuffer) -> Bool {
        let cost = frame.readableBytes
        let (accepted, overflowed, startDrain) = state.withLock { state -> (Bool, Bool, Bool) in
            guard !state.isFinished else { return (false, false, false) }
            if state.queuedBytes + cost > limit && !state.items.isEmpty {
                state.overflowed = true
                state.isFinished = true
                state.items.removeAll()
                state.queuedBytes = 0
                return (false, true, Self.claimDrain(&state))
            }
            state.items.append(.frame(frame))
            state.queuedBytes += cost
            return (true, false, Self.claimDrain(&state))
        }
        if overflowed { onOverflow() }
        if startDrain { scheduleDrain() }
        return accepted
    }

    /// Queues a catch-up. It counts against the limit like a frame, by the bytes it
    /// holds (its version vector): a client that subscribes again and again with
    /// large vectors and never reads overflows like one that never reads relays.
    func enqueue(_ catchUp: CatchUp) {
        let cost = catchUp.heldBytes
        let (overflowed, startDrain) = state.withLock { state -> (Bool, Bool) in
            guard !state.isFinished else { return (false, false) }
            if state.queuedBytes + cost > limit && !state.items.isEmpty {
                state.overflowed = true
                state.isFinished = true
                state.items.removeAll()
                state.queuedBytes = 0
                return (true, Self.claimDrain(&state))
            }
            state.items.append(.catchUp(catchUp))
            state.queuedBytes += cost
            return (false, Self.claimDrain(&state))
        }
        if overflowed { onOverflow() }
        if startDrain { scheduleDrain() }
    }

    /// Queues a last message (if any) and stops accepting more; what is queued is
    /// written, then the output is closed.
    func finish(with last: SporMessage? = nil) {
        let frame = last.map { Self.encode($0, allocator: channel.allocator) }
        let startDrain = state.withLock { state -> Bool in
            guard !state.isFinished else { return false }
            if let frame { state.items.append(.frame(frame)) }
            state.isFinished = true
            return Self.claimDrain(&state)
        }
        if startDrain { scheduleDrain() }
    }

    var overflowed: Bool { state.withLock { $0.overflowed } }

    static func encode(_ message: SporMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        message.writeFrame(into: &buffer)
        return buffer
    }

    private static func claimDrain(_ state: inout State) -> Bool {
        guard !state.isDraining else { return false }
        state.isDraining = true
        return true
    }

    private func scheduleDrain() {
        channel.eventLoop.execute { self.drain() }
    }

    /// Runs on the event loop while this outbox holds the drain: writes queued
    /// frames up to the next catch-up, one flush per batch, until the queue is empty,
    /// the channel stops being writable, or a catch-up has to be sent.
    private func drain() {
        while true {
            switch nextStep() {
            case let .write(frames):
                let written = channel.eventLoop.makePromise(of: Void.self)
                for frame in frames.dropLast() { channel.write(frame, promise: nil) }
                if let last = frames.last { channel.writeAndFlush(last, promise: written) }
                if !channel.isWritable {
                    // Resume once these frames reached the socket; until then frames
                    // wait here, where they count against the limit.
                    written.futureResult.whenComplete { _ in self.drain() }
                    return
                }
            case let .sendCatchUp(catchUp):
                let channel = channel
                Task {
                    do {
                        try await sendCatchUp(catchUp, channel)
                    } catch {
                        abandon()
                    }
                    channel.eventLoop.execute { self.drain() }
                }
                return
            case .pause:
                return
            case let .end(overflowed):
                state.withLock { $0.hasEnded = true }
                if !overflowed {
                    let channel = channel
                    channel.close(mode: .output, promise: nil)
                    channel.eventLoop.scheduleTask(in: Self.closeGracePeriod) { channel.close(promise: nil) }
                }
                ended.succeed()
                return
            }
        }
    }

    private func nextStep() -> Step {
        state.withLock { state in
            if case let .catchUp(catchUp)? = state.items.first {
                state.items.removeFirst()
                state.queuedBytes -= catchUp.heldBytes
                return .sendCatchUp(catchUp)
            }
            var frames: [ByteBuffer] = []
            while case let .frame(frame)? = state.items.first {
                state.items.removeFirst()
                state.queuedBytes -= frame.readableBytes
                frames.append(frame)
            }
            if !frames.isEmpty { return .write(frames) }
            state.isDraining = false
            return state.isFinished ? .end(overflowed: state.overflowed) : .pause
        }
    }

    /// The connection failed while sending a catch-up: nothing queued can be sent.
    private func abandon() {
        state.withLock { state in
            state.isFinished = true
            state.items.removeAll()
            state.queuedBytes = 0
        }
    }
}
