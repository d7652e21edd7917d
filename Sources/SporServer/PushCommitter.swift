import Foundation
import GRDB
import Logging
import SporCRDT
import SporWire
import Synchronization

/// The single writer of documents: creates them, adds members and stores pushed
/// change batches, then acknowledges and relays — in that order.
///
/// A pushed batch is stored only if it merges into the server's replica of the
/// document (``ReplicaCache``): what is stored is relayed to and merged by every
/// member, so a batch that cannot merge would make the document unsyncable for all.
///
/// Requests queue up while a transaction is being written, and everything queued is
/// then written in the next transaction (group commit): one fsync acknowledges many
/// pushes, so durable throughput grows with load instead of being capped by the
/// disk's sync rate. Each request is still checked and answered on its own.
///
/// Order: requests are applied in arrival order; after a commit, relays and replies
/// are issued in that same order, which is the order subscribers receive batches.
/// If a transaction fails (disk full, I/O error), none of its requests is answered
/// with success and no cached state changes.
final class PushCommitter: Sendable {
    enum Request: Sendable {
        case create(document: String, account: Account, reply: @Sendable (Result<Void, ServerError>) -> Void)
        case addMember(document: String, member: String, account: Account, reply: @Sendable (Result<Void, ServerError>) -> Void)
        case push(Push)
    }

    struct Push: Sendable {
        let document: String
        let account: Account
        let changes: [UInt8]
        let summary: ChangeSummary
        let origin: ConnectionID
        /// The number of events the server did not have (0: all duplicates).
        let reply: @Sendable (Result<Int, ServerError>) -> Void
    }

    /// What the committer knows of one document; loaded from the store on first use.
    struct DocumentState: Sendable {
        var members: Set<String>
        var vector: [String: Int]
        var eventCount: Int
    }

    private enum Outcome {
        case created, memberAdded
        case stored(batchID: Int64, newEvents: Int)
        case duplicate
        case refused(ServerError)
    }

    private let store: SporStore
    private let hub: SubscriptionHub
    private let metrics: ServerMetrics
    private let logger: Logger
    private let pending = Mutex<[Request]>([])
    private let documents = Mutex<[String: DocumentState]>([:])
    private let replicas: Mutex<ReplicaCache>
    private let busy = Mutex(false)
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    init(store: SporStore, hub: SubscriptionHub, metrics: ServerMetrics, logger: Logger, cachedReplicas: Int = 256) {
        self.store = store
        replicas = Mutex(ReplicaCache(capacity: cachedReplicas))
        self.hub = hub
        self.metrics = metrics
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func submit(_ request: Request) {
        pending.withLock { $0.append(request) }
        wakeUp.yield()
    }

    /// Whether requests are queued or being written.
    var isIdle: Bool { pending.withLock { $0.isEmpty } && !busy.withLock { $0 } }

    /// Stops after the requests queued so far are written.
    func finish() { wakeUp.finish() }

    /// The writer loop; returns after ``finish()`` once everything queued is done.
    func run() async {
        for await _ in wakeUps {
            await drain()
        }
        await drain()
    }

    private func drain() async {
        while true {
            let requests = pending.withLock { pending -> [Request] in
                let taken = pending
                pending.removeAll(keepingCapacity: true)
                if !taken.isEmpty { busy.withLock { $0 = true } }
                return taken
            }
            if requests.isEmpty { return }
            await write(requests)
            busy.withLock { $0 = false }
        }
    }

    private func write(_ requests: [Request]) async {
        let started = ContinuousClock.now
        // Only this loop writes the cache, so reading it inside the transaction is
        // consistent; looking up per document avoids copying the whole cache per commit.
        let cached: @Sendable (String) -> DocumentState? = { [self] document in self.documents.withLock { $0[document] } }
        let takeReplica: @Sendable (String) -> Document? = { [self] document in self.replicas.withLock { $0.take(document) } }
        let result: Result<([Outcome], [String: DocumentState], [String: Document]), Error>
        do {
            result = .success(try await store.pool.write { db in
                var scratch = Scratch()
                var outcomes: [Outcome] = []
                outcomes.reserveCapacity(requests.count)
                for request in requests {
                    do {
                        outcomes.append(try Self.apply(request, db: db, cached: cached, takeReplica: takeReplica, scratch: &scratch))
                    } catch let refusal as ServerError {
                        outcomes.append(.refused(refusal))
                    }
                }
                return (outcomes, scratch.states, scratch.replicas)
            })
        } catch {
            // Replicas taken for this transaction are not put back: they may hold
            // events that were not stored, and are rebuilt from storage when needed.
            result = .failure(error)
        }
        switch result {
        case let .success((outcomes, changed, merged)):
            documents.withLock { cache in
                for (document, state) in changed { cache[document] = state }
            }
            replicas.withLock { cache in
                for (document, replica) in merged { cache.put(document, replica) }
            }
            metrics.commitLatency.recordInterval(since: started)
            metrics.commits.increment()
            for (request, outcome) in zip(requests, outcomes) { answer(request, outcome) }
        case let .failure(error):
            logger.error("storing \(requests.count) requests failed; none acknowledged", metadata: ["error": "\(error)"])
            let failure = ServerError(.internalError, "the server could not store the change; nothing was stored, send it again")
            for request in requests { answer(request, .refused(failure)) }
        }
    }

    private func answer(_ request: Request, _ outcome: Outcome) {
        switch (request, outcome) {
        case let (.create(_, _, reply), .created), let (.addMember(_, _, _, reply), .memberAdded):
            reply(.success(()))
        case let (.create(_, _, reply), .refused(error)), let (.addMember(_, _, _, reply), .refused(error)):
            reply(.failure(error))
        case let (.push(push), .stored(batchID, newEvents)):
            metrics.eventsStored.increment(by: Int64(newEvents))
            metrics.batchesStored.increment()
            let relayed = hub.deliver(push.document, batchID: batchID, changes: push.changes, from: push.origin)
            metrics.relayed.increment(by: Int64(relayed))
            push.reply(.success(newEvents))
        case let (.push(push), .duplicate):
            push.reply(.success(0))
        case let (.push(push), .refused(error)):
            metrics.pushesRefused.increment()
            push.reply(.failure(error))
        default:
            assertionFailure("outcome \(outcome) does not answer \(request)")
        }
    }

    // MARK: Applying one request inside the transaction

    /// What one transaction changed, kept apart from the caches until it commits.
    private struct Scratch {
        var states: [String: DocumentState] = [:]
        /// Replicas taken out of the cache (or built) and merged into by this transaction.
        var replicas: [String: Document] = [:]
    }

    private static func state(of document: String, db: Database, cached: (String) -> DocumentState?,
                              scratch: inout Scratch) throws -> DocumentState? {
        if let state = scratch.states[document] ?? cached(document) { return state }
        guard let eventCount = try Int.fetchOne(db, sql: "SELECT eventCount FROM document WHERE id = ?", arguments: [document]) else {
            return nil
        }
        let members = try String.fetchAll(db, sql: "SELECT accountID FROM member WHERE documentID = ?", arguments: [document])
        var vector: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT agent, nextSeq FROM documentAgent WHERE documentID = ?", arguments: [document]) {
            vector[row["agent"]] = row["nextSeq"]
        }
        return DocumentState(members: Set(members), vector: vector, eventCount: eventCount)
    }

    static func notFound(_ document: String) -> ServerError {
        ServerError(.notFound, "no document \(String(reflecting: document)) that this organisation can see")
    }

    /// The server's replica of `document`, held uniquely by the transaction: from this
    /// transaction, from the cache, or rebuilt by merging the stored batches in order.
    /// A stored batch that does not merge (stored before the server checked merges) is
    /// left out, as every client leaves it out.
    private static func takeReplica(of document: String, db: Database, cache: (String) -> Document?,
                                    scratch: inout Scratch) throws -> Document {
        if let replica = scratch.replicas.removeValue(forKey: document) ?? cache(document) { return replica }
        var replica = Document()
        let batches = try Data.fetchCursor(db, sql: "SELECT changes FROM batch WHERE documentID = ? ORDER BY id", arguments: [document])
        while let changes = try batches.next() {
            _ = try? replica.merge(encodedChanges: [UInt8](changes))
        }
        return replica
    }

    private static func apply(_ request: Request, db: Database, cached: (String) -> DocumentState?,
                              takeReplica cache: (String) -> Document?, scratch: inout Scratch) throws -> Outcome {
        let now = Date()
        switch request {
        case let .create(document, account, _):
            if try state(of: document, db: db, cached: cached, scratch: &scratch) != nil {
                throw ServerError(.alreadyExists, "document \(String(reflecting: document)) already exists; choose another id")
            }
            try db.execute(sql: "INSERT INTO document (id, createdBy, createdAt) VALUES (?, ?, ?)", arguments: [document, account.id, now])
            try db.execute(sql: "INSERT INTO member (documentID, accountID, addedBy, addedAt) VALUES (?, ?, ?, ?)",
                           arguments: [document, account.id, account.id, now])
            scratch.states[document] = DocumentState(members: [account.id], vector: [:], eventCount: 0)
            scratch.replicas[document] = Document()
            return .created

        case let .addMember(document, member, account, _):
            guard var state = try state(of: document, db: db, cached: cached, scratch: &scratch),
                  account.isSecretariat || state.members.contains(account.id) else { throw notFound(document) }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE id = ?", arguments: [member]) == true else {
                throw ServerError(.notFound, "no organisation with id \(String(reflecting: member)) on this server")
            }
            if !state.members.contains(member) {
                try db.execute(sql: "INSERT INTO member (documentID, accountID, addedBy, addedAt) VALUES (?, ?, ?, ?)",
                               arguments: [document, member, account.id, now])
                state.members.insert(member)
                scratch.states[document] = state
            }
            return .memberAdded

        case let .push(push):
            guard var state = try state(of: push.document, db: db, cached: cached, scratch: &scratch),
                  push.account.isSecretariat || state.members.contains(push.account.id) else { throw notFound(push.document) }
            for dependency in push.summary.dependencies where (state.vector[dependency.agent.name] ?? 0) <= dependency.seq {
                throw ServerError(.missingDependencies, "the changes depend on \(dependency), which the server does not have: "
                                  + "push the changes it depends on first")
            }
            var newEvents = 0
            var changedAgents: [String: Int] = [:]
            for run in push.summary.runs {
                let agent = run.agent.name
                let known = changedAgents[agent] ?? state.vector[agent] ?? 0
                guard run.seqs.lowerBound <= known else {
                    throw ServerError(.missingDependencies, "events of \(agent) start at \(run.seqs.lowerBound), but the server "
                                      + "has only \(known) of them: push the ones between first")
                }
                // Another organisation's events may be passed on only if the server
                // already has them: nobody writes in someone else's name.
                if !agent.hasPrefix(push.account.agentPrefix) && run.seqs.upperBound > known {
                    throw ServerError(.forbidden, "events by agent \(String(reflecting: agent)) cannot come from "
                                      + "\(push.account.id): its agents' names start with \(String(reflecting: push.account.agentPrefix))")
                }
                if run.seqs.upperBound > known {
                    newEvents += run.seqs.upperBound - known
                    changedAgents[agent] = run.seqs.upperBound
                }
            }
            guard newEvents > 0 else { return .duplicate }
            // Stored only if it merges (a failed merge leaves the replica unchanged).
            var replica = try takeReplica(of: push.document, db: db, cache: cache, scratch: &scratch)
            do {
                try replica.merge(encodedChanges: push.changes)
                scratch.replicas[push.document] = replica
            } catch {
                scratch.replicas[push.document] = replica
                throw ServerError(.invalidChanges, "the changes do not apply to the document: \(error.message)")
            }
            // The statements of every push are prepared once per connection (cached).
            try db.cachedStatement(sql: """
                INSERT INTO batch (documentID, changes, eventCount, ranges, accountID, storedAt) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [push.document, Data(push.changes), push.summary.eventCount,
                                         StoredBatch.format(ranges: push.summary.runs), push.account.id, now])
            let batchID = db.lastInsertedRowID
            for (agent, next) in changedAgents {
                try db.cachedStatement(sql: """
                    INSERT INTO documentAgent (documentID, agent, nextSeq) VALUES (?, ?, ?)
                    ON CONFLICT (documentID, agent) DO UPDATE SET nextSeq = excluded.nextSeq
                    """).execute(arguments: [push.document, agent, next])
                state.vector[agent] = next
            }
            state.eventCount += newEvents
            try db.cachedStatement(sql: "UPDATE document SET eventCount = ? WHERE id = ?")
                .execute(arguments: [state.eventCount, push.document])
            scratch.states[push.document] = state
            return .stored(batchID: batchID, newEvents: newEvents)
        }
    }
}
