import SporCRDT
import SporWire
import Synchronization

/// Identifies one connection for the life of the server process.
typealias ConnectionID = UInt64

/// Who is subscribed to which document, and the newest batch each document has
/// relayed. Registration and delivery take the same lock, so a subscriber gets every
/// batch exactly once in order: either in its catch-up (stored at or before the
/// batch id read at registration) or live (delivered after it).
final class SubscriptionHub: Sendable {
    private struct State {
        var subscribers: [String: [ConnectionID: Outbox]] = [:]
        var lastBatch: [String: Int64] = [:]
    }

    private let state = Mutex(State())

    /// Registers `outbox` for live changes of `document` and queues its catch-up
    /// from `vector` in the same step. `lastStoredBatch` is asked only when the hub
    /// has not seen the document since start.
    func subscribe(_ document: String, connection: ConnectionID, outbox: Outbox, from vector: VersionVector,
                   lastStoredBatch: () throws -> Int64) throws {
        try state.withLock { state in
            let through: Int64
            if let known = state.lastBatch[document] {
                through = known
            } else {
                through = try lastStoredBatch()
                state.lastBatch[document] = through
            }
            state.subscribers[document, default: [:]][connection] = outbox
            outbox.enqueue(Outbox.CatchUp(document: document, vector: vector, through: through))
        }
    }

    func unsubscribe(_ document: String, connection: ConnectionID) {
        state.withLock { state in
            state.subscribers[document]?[connection] = nil
            if state.subscribers[document]?.isEmpty == true { state.subscribers[document] = nil }
        }
    }

    func isSubscribed(_ document: String, connection: ConnectionID) -> Bool {
        state.withLock { $0.subscribers[document]?[connection] != nil }
    }

    /// Relays a batch just committed as `batchID` to every subscriber of `document`
    /// but the connection that pushed it. Called in commit order. Returns how many
    /// subscribers it was queued for.
    @discardableResult
    func deliver(_ document: String, batchID: Int64, changes: [UInt8], from origin: ConnectionID) -> Int {
        state.withLock { state in
            state.lastBatch[document] = batchID
            guard let subscribers = state.subscribers[document] else { return 0 }
            let message = SporMessage.events(.init(document: document, isCatchUp: false, batches: [changes]))
            var count = 0
            for (connection, outbox) in subscribers where connection != origin {
                outbox.enqueue(message)
                count += 1
            }
            return count
        }
    }
}
