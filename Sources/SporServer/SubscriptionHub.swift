import NIOCore
import SporCRDT
import SporProposal
import SporWire
import Synchronization

/// Identifies one connection for the life of the server process.
typealias ConnectionID = UInt64

/// Who is subscribed to which document, and the newest batch each document has
/// relayed. Registration and delivery take the same lock, so a subscriber gets every
/// batch exactly once, in order: in its catch-up if the batch id is at most the one
/// fixed at registration, live otherwise.
///
/// No I/O happens under the lock: the caller reads the newest stored batch id first.
final class SubscriptionHub: Sendable {
    private struct Subscriber {
        let outbox: Outbox
        /// The subscribing organisation (its account id), and whether it is the
        /// secretariat, which sees every document whatever its members.
        let organisation: String
        let isSecretariat: Bool
        /// Batches up to this id are sent by the subscriber's catch-up.
        let catchUpThrough: Int64
        /// Whether its connection speaks protocol 3 (EVENTS carry stored times).
        let storedTimes: Bool
    }

    private struct State {
        var subscribers: [String: [ConnectionID: Subscriber]] = [:]
        var lastBatch: [String: Int64] = [:]
    }

    private let state = Mutex(State())
    private static let allocator = ByteBufferAllocator()

    /// Registers `outbox` for live changes of `document` and queues its catch-up
    /// from `vector` in the same step. `storedThrough` is the newest stored batch id
    /// the caller read before calling; batches committed since are covered either
    /// by the hub's own record or by live delivery.
    func subscribe(_ document: String, connection: ConnectionID, outbox: Outbox, account: Account, from vector: VersionVector,
                   storedThrough: Int64, storedTimes: Bool, snapshots: Bool) {
        state.withLock { state in
            let through = max(state.lastBatch[document] ?? 0, storedThrough)
            state.subscribers[document, default: [:]][connection] = Subscriber(
                outbox: outbox, organisation: account.id, isSecretariat: account.isSecretariat, catchUpThrough: through,
                storedTimes: storedTimes)
            outbox.enqueue(Outbox.CatchUp(document: document, vector: vector, through: through, storedTimes: storedTimes,
                                          snapshots: snapshots))
        }
    }

    func unsubscribe(_ document: String, connection: ConnectionID) {
        state.withLock { state in
            state.subscribers[document]?[connection] = nil
            if state.subscribers[document]?.isEmpty == true { state.subscribers[document] = nil }
        }
    }

    /// Ends `organisation`'s subscriptions to `document` (it was removed from it):
    /// each of its connections is sent ACCESS_ENDED and gets nothing more of the
    /// document, its catch-up included. The secretariat's subscriptions stay.
    func endAccess(_ document: String, organisation: String) {
        state.withLock { state in
            guard let subscribers = state.subscribers[document] else { return }
            for (connection, subscriber) in subscribers where subscriber.organisation == organisation && !subscriber.isSecretariat {
                state.subscribers[document]?[connection] = nil
                subscriber.outbox.enqueue(.accessEnded(document: document))
            }
            if state.subscribers[document]?.isEmpty == true { state.subscribers[document] = nil }
        }
    }

    func isSubscribed(_ document: String, connection: ConnectionID) -> Bool {
        state.withLock { $0.subscribers[document]?[connection] != nil }
    }

    /// Relays a batch just committed as `batchID` to every subscriber of `document`
    /// but the connection that pushed it and those whose catch-up already covers it.
    /// Called in commit order. Returns how many subscribers it was queued for.
    /// `storedAt`: when the batch was stored (Unix seconds), sent to protocol 3 subscribers.
    @discardableResult
    func deliver(_ document: String, batchID: Int64, changes: [UInt8], storedAt: Int64, from origin: ConnectionID) -> Int {
        // Encoded once, outside the lock; every subscriber's outbox shares the bytes.
        // The version 2 form only if a subscriber still speaks it.
        let frame = Outbox.encode(.events(.init(document: document, isCatchUp: false, batches: [changes], storedAt: [storedAt])),
                                  allocator: Self.allocator)
        let wantsVersion2 = state.withLock { state in
            state.subscribers[document]?.values.contains { !$0.storedTimes } ?? false
        }
        let version2Frame = wantsVersion2
            ? Outbox.encode(.events(.init(document: document, isCatchUp: false, batches: [changes])), allocator: Self.allocator) : nil
        return state.withLock { state in
            state.lastBatch[document] = max(state.lastBatch[document] ?? 0, batchID)
            guard let subscribers = state.subscribers[document] else { return 0 }
            var count = 0
            for (connection, subscriber) in subscribers where connection != origin && batchID > subscriber.catchUpThrough {
                // (A version 2 subscriber that arrived between the two locks gets the
                // version 2 frame encoded here, under the lock: rare and small.)
                let sent = subscriber.storedTimes ? frame : version2Frame
                    ?? Outbox.encode(.events(.init(document: document, isCatchUp: false, batches: [changes])), allocator: Self.allocator)
                subscriber.outbox.enqueue(frame: sent)
                count += 1
            }
            return count
        }
    }
}
