import Foundation
import GRDB
import Logging
import SporCRDT
import SporProposal
import SporWire
import Synchronization

/// The single writer of documents: creates them, changes their members and stores
/// pushed change batches and the server's own, then acknowledges and relays — in
/// that order.
///
/// Who may write what is decided here, inside the transaction, from the members
/// table: a push's standing is the pusher's role at the moment its transaction runs,
/// and every write of every event the server does not have yet is checked with
/// ``ProposalSchema/writeRefusal(in:writer:standing:isNew:)``. Events the server
/// already stores are passed on unchecked (they are duplicates).
///
/// A pushed batch is stored only if it merges into the server's replica of the
/// document (``ReplicaCache``): what is stored is relayed to and merged by every
/// member, so a batch that cannot merge would make the document unsyncable for all.
///
/// Requests queue up while a transaction is being written, and everything queued is
/// then written in the next transaction (group commit): one fsync acknowledges many
/// pushes, so durable throughput grows with load instead of being capped by the
/// disk's sync rate. Each request is still checked and answered on its own, but a
/// document's pushes in one transaction are merged into its replica together
/// (``Group``): when the server falls behind, the pushes waiting for a document cost
/// one merge, not one each, so it catches up instead of falling further behind.
///
/// Fairness: merging is bounded per push (``placementBudget``), and each organisation
/// has a share of the writer's merge time (``MergeShares``): the pushes of one over its
/// share are deferred — kept in order, merged once its share is back — so an
/// organisation's expensive pushes delay its own later pushes, not everyone's.
///
/// Order: requests are applied in arrival order (an organisation's deferred pushes
/// keep theirs); after a commit, relays and replies are issued in the order of the
/// transaction, which is the order subscribers receive batches.
/// If a transaction fails (disk full, I/O error), none of its requests is answered
/// with success and no cached state changes.
final class PushCommitter: Sendable {
    enum Request: Sendable {
        case push(Push)
    }

    struct Push: Sendable {
        let document: String
        let account: Account
        let changes: [UInt8]
        let summary: ChangeSummary
        let origin: ConnectionID
        /// Set for a batch the server wrote itself (as ``ProposalSchema/serverAgent``)
        /// on `account`'s request: not checked against the account's prefix or role,
        /// which the caller did, and relayed to every subscriber.
        var serverWrite: ServerWrite? = nil
        let reply: @Sendable (Result<Stored, ServerError>) -> Void
    }

    /// What an accepted push did.
    struct Stored: Sendable, Equatable {
        /// The number of events the server did not have (0: all duplicates).
        var newEvents: Int
        /// When the batch was stored, by the server's clock (Unix seconds); nil when
        /// nothing was stored (all duplicates).
        var storedAt: Int64?
    }

    /// What a server-written batch does besides adding its events.
    struct ServerWrite: Sendable {
        /// Creates the document (with `account` as its lead): refused with
        /// `alreadyExists` if the id is taken.
        var createsDocument = false
        /// Membership rows to write: organisation → new role, nil to remove.
        var membership: [String: ParticipantRole?] = [:]
        /// The audit entry of the step this batch records, written with it.
        var audit: AuditEntry? = nil
        /// The step this batch records, told to `webhookEndpoints` (deliveries written with it).
        var notification: WebhookNotification? = nil
        var webhookEndpoints: [WebhookEndpoint] = []
    }

    /// No connection: the origin of server-written batches, relayed to everyone.
    static let noConnection: ConnectionID = 0

    /// What the committer knows of one document; loaded from the store on first use.
    struct DocumentState: Sendable {
        var roles: [String: ParticipantRole]
        var vector: [String: Int]
        var eventCount: Int
    }

    private enum Outcome {
        case stored(batchID: Int64, newEvents: Int, storedAt: Int64)
        case duplicate
        case refused(ServerError)
        /// Not merged: its organisation is over its share of merge time. Tried again
        /// in a later transaction.
        case deferred
    }

    private let store: SporStore
    /// The server's clock (``ServerConfiguration/now``): every batch's stored time.
    private let now: @Sendable () -> Date
    private let hub: SubscriptionHub
    private let metrics: ServerMetrics
    private let logger: Logger
    /// Requests waiting for the writer, and connections waiting for room in that queue.
    private struct Queue {
        var requests: [Request] = []
        var waitingForRoom: [CheckedContinuation<Void, Never>] = []
        /// Pushes of organisations over their share of merge time, in arrival order.
        var deferred: [Push] = []
        /// Connections waiting until their organisation has fewer deferred pushes.
        var waitingForShare: [String: [CheckedContinuation<Void, Never>]] = [:]
        /// Whether a wake-up for the deferred pushes is scheduled.
        var isWakeUpScheduled = false
        /// Set when the writer has stopped: nobody waits for room any more.
        var isClosed = false

        func deferredCount(of organisation: String) -> Int { deferred.count { $0.account.id == organisation } }
    }

    private let pending = Mutex(Queue())
    /// Requests waiting at most before submitters wait (``waitForRoom(organisation:)``).
    let maxQueued: Int
    /// Deferred pushes one organisation may have before its connections wait.
    static let maxDeferredPerOrganisation = 64
    /// Concurrent items one push may make the server scan past to place its insertions
    /// (``Document/merge(encodedChanges:placementBudget:)``); nil: no bound.
    let placementBudget: Int?
    /// The endpoints told of new comments: a merged push's new items in the comments
    /// list are enqueued for them in the push's transaction.
    let commentWebhooks: [WebhookEndpoint]
    private let shares: Mutex<MergeShares>
    /// What a document's merge that took the given time is charged (tests: a fixed cost).
    private let mergeCharge: @Sendable (Duration) -> Duration
    private let documents = Mutex<[String: DocumentState]>([:])
    private let replicas: Mutex<ReplicaCache>
    /// Events of history a cached replica holds before it is trimmed (see
    /// ``WindowedReplica``).
    private let replicaWindow: Int
    /// Replicas over their window that one commit tries to trim at most.
    private static let trimTriesPerCommit = 2
    /// A commit (merge and transaction, fsync included) slower than this is logged
    /// with what it held: one such commit delays every relay queued behind it.
    private static let slowCommit: Duration = .milliseconds(50)
    /// Agents one organisation may have in a document, and all organisations together
    /// (``ServerConfiguration/Limits``).
    let agentLimits: AgentLimits
    private let busy = Mutex(false)
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    struct AgentLimits: Sendable {
        var perOrganisation = 256
        var perDocument = 4_096
    }

    init(store: SporStore, hub: SubscriptionHub, metrics: ServerMetrics, logger: Logger, cachedReplicas: Int = 256,
         replicaWindow: Int = 2_048, maxQueued: Int = 4_096, agentLimits: AgentLimits = AgentLimits(),
         placementBudget: Int? = 100_000, mergeShare: (rate: Double, burst: Double) = (0.25, 0.05),
         mergeCharge: @escaping @Sendable (Duration) -> Duration = { $0 }, now: @escaping @Sendable () -> Date = { Date() },
         webhooks: [WebhookEndpoint] = []) {
        self.store = store
        commentWebhooks = webhooks.filter { $0.events.contains(.commented) }
        self.now = now
        self.mergeCharge = mergeCharge
        self.agentLimits = agentLimits
        self.placementBudget = placementBudget
        shares = Mutex(MergeShares(rate: mergeShare.rate, burst: mergeShare.burst))
        self.replicaWindow = max(8, replicaWindow)
        self.maxQueued = max(1, maxQueued)
        replicas = Mutex(ReplicaCache(capacity: cachedReplicas))
        self.hub = hub
        self.metrics = metrics
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Tests: how many events of history the cached replica of `document` holds.
    func replicaHeldEvents(_ document: String) -> Int? {
        replicas.withLock { $0.peek(document)?.heldEventCount }
    }

    func submit(_ request: Request) {
        pending.withLock { $0.requests.append(request) }
        wakeUp.yield()
    }

    /// Returns once fewer than ``maxQueued`` requests wait for the writer — at once,
    /// normally; under overload, when the writer takes the queue for its next
    /// transaction — and `organisation` has fewer than ``maxDeferredPerOrganisation``
    /// deferred pushes. A connection awaits this after submitting, before it reads its
    /// next frame: clients that push faster than the server can store, or an
    /// organisation over its share of merge time, are slowed down by TCP flow control
    /// instead of the queue — and the server's memory — growing without bound.
    func waitForRoom(organisation: String? = nil) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mustWait = pending.withLock { queue -> Bool in
                guard !queue.isClosed else { return false }
                if queue.requests.count >= maxQueued {
                    queue.waitingForRoom.append(continuation)
                    return true
                }
                if let organisation, queue.deferredCount(of: organisation) >= Self.maxDeferredPerOrganisation {
                    queue.waitingForShare[organisation, default: []].append(continuation)
                    return true
                }
                return false
            }
            if !mustWait { continuation.resume() }
        }
        // Room in the queue may have come before room for the organisation.
        if let organisation, pending.withLock({ !$0.isClosed && $0.deferredCount(of: organisation) >= Self.maxDeferredPerOrganisation }) {
            await waitForRoom(organisation: organisation)
        }
    }

    /// Whether requests are queued, deferred or being written.
    var isIdle: Bool { pending.withLock { $0.requests.isEmpty && $0.deferred.isEmpty } && !busy.withLock { $0 } }

    /// Tests: the pushes deferred (their organisation over its share of merge time).
    var deferredCount: Int { pending.withLock { $0.deferred.count } }

    /// Stops after the requests queued so far are written.
    func finish() { wakeUp.finish() }

    /// The writer loop; returns after ``finish()`` once everything queued is done.
    func run() async {
        for await _ in wakeUps {
            await drain()
        }
        // Stopping: what was deferred is written now, shares or not.
        await drain(ignoringShares: true)
        let waiting = pending.withLock { queue in
            queue.isClosed = true
            defer {
                queue.waitingForRoom.removeAll()
                queue.waitingForShare.removeAll()
            }
            return queue.waitingForRoom + queue.waitingForShare.values.joined()
        }
        for connection in waiting { connection.resume() }
    }

    private func drain(ignoringShares: Bool = false) async {
        while true {
            let (requests, waiting) = pending.withLock { queue -> ([Request], [CheckedContinuation<Void, Never>]) in
                let taken = takeRequests(from: &queue, ignoringShares: ignoringShares)
                var waiting = queue.waitingForRoom
                queue.waitingForRoom.removeAll()
                for organisation in Array(queue.waitingForShare.keys)
                where queue.deferredCount(of: organisation) < Self.maxDeferredPerOrganisation {
                    waiting += queue.waitingForShare.removeValue(forKey: organisation) ?? []
                }
                if !taken.isEmpty { busy.withLock { $0 = true } }
                return (taken, waiting)
            }
            for connection in waiting { connection.resume() }
            if requests.isEmpty {
                deferAgain([])
                return
            }
            await write(requests, ignoringShares: ignoringShares)
            busy.withLock { $0 = false }
        }
    }

    /// The requests for the next transaction: deferred pushes whose organisation is
    /// back within its share (they arrived first), then the new requests — except
    /// pushes of organisations that are over their share or still have deferred pushes,
    /// which join the deferred ones, so each organisation's pushes keep their order.
    private func takeRequests(from queue: inout Queue, ignoringShares: Bool) -> [Request] {
        var taken: [Request] = []
        var stillDeferred: Set<String> = []
        shares.withLock { shares in
            var kept: [Push] = []
            for push in queue.deferred {
                let organisation = push.account.id
                if ignoringShares || (!stillDeferred.contains(organisation) && shares.debt(of: organisation) == nil) {
                    taken.append(.push(push))
                } else {
                    stillDeferred.insert(organisation)
                    kept.append(push)
                }
            }
            queue.deferred = kept
            for request in queue.requests {
                switch request {
                case let .push(push):
                    let organisation = push.account.id
                    if !ignoringShares, push.serverWrite == nil,
                       stillDeferred.contains(organisation) || shares.debt(of: organisation) != nil {
                        stillDeferred.insert(organisation)
                        queue.deferred.append(push)
                    } else {
                        taken.append(request)
                    }
                }
            }
        }
        queue.requests.removeAll(keepingCapacity: true)
        return taken
    }

    /// Puts `pushes` (deferred by the transaction just written) before the pushes
    /// deferred already, and makes sure the writer wakes up when the first of their
    /// organisations is back within its share.
    private func deferAgain(_ pushes: [Push]) {
        let (delay, mustSchedule) = pending.withLock { queue -> (Duration, Bool) in
            queue.deferred.insert(contentsOf: pushes, at: 0)
            guard !queue.deferred.isEmpty, !queue.isWakeUpScheduled else { return (.zero, false) }
            queue.isWakeUpScheduled = true
            let organisations = Set(queue.deferred.map(\.account.id))
            let delay = shares.withLock { shares in
                organisations.compactMap { shares.debt(of: $0) }.min() ?? .zero
            }
            return (delay, true)
        }
        guard mustSchedule else { return }
        Task { [self] in
            try? await Task.sleep(for: delay + .milliseconds(1))
            pending.withLock { $0.isWakeUpScheduled = false }
            wakeUp.yield()
        }
    }

    private func write(_ requests: [Request], ignoringShares: Bool) async {
        let started = ContinuousClock.now
        // Only this loop writes the cache, so reading it inside the transaction is
        // consistent; looking up per document avoids copying the whole cache per commit.
        let cached: @Sendable (String) -> DocumentState? = { [self] document in self.documents.withLock { $0[document] } }
        let takeReplica: @Sendable (String) -> WindowedReplica? = { [self] document in self.replicas.withLock { $0.take(document) } }
        let sharing = ignoringShares ? nil : Sharing(
            isOver: { [self] organisation in self.shares.withLock { $0.debt(of: organisation) != nil } },
            charge: { [self] organisation, duration in self.shares.withLock { $0.charge(organisation, self.mergeCharge(duration)) } })
        let result: Result<([Outcome], Scratch), Error>
        do {
            let storedAt = now()
            result = .success(try await store.pool.write { [agentLimits, placementBudget, commentWebhooks] db in
                var group = Group(requests: requests, agentLimits: agentLimits, placementBudget: placementBudget, sharing: sharing,
                                  storedAt: storedAt, commentWebhooks: commentWebhooks)
                try group.apply(db: db, cached: cached, takeReplica: takeReplica)
                return (group.outcomes.map { $0 ?? .refused(ServerError(.internalError, "not answered")) }, group.scratch)
            })
        } catch {
            // Replicas taken for this transaction are not put back: they may hold
            // events that were not stored, and are rebuilt from storage when needed.
            result = .failure(error)
        }
        switch result {
        case let .success((outcomes, scratch)):
            documents.withLock { cache in
                for (document, state) in scratch.states { cache[document] = state }
            }
            metrics.replicaLoads.increment(by: scratch.replicaLoads)
            for document in scratch.rebuiltForOldHistory {
                metrics.replicaRebuilds.increment()
                logger.info("rebuilt a replica from storage: a push needed history older than its window",
                            metadata: ["document": "\(document)"])
            }
            metrics.commitLatency.recordInterval(since: started)
            metrics.commits.increment()
            let took = ContinuousClock.now - started
            if took > Self.slowCommit {
                logger.notice("slow commit", metadata: [
                    "ms": "\(took.milliseconds)", "mergeMs": "\(scratch.mergeTime.milliseconds)",
                    "requests": "\(requests.count)", "documents": "\(scratch.replicas.count)",
                    "replicaLoads": "\(scratch.replicaLoads)", "rebuilds": "\(scratch.rebuiltForOldHistory.count)",
                ])
            }
            var deferred: [Push] = []
            for (request, outcome) in zip(requests, outcomes) {
                if case .deferred = outcome, case let .push(push) = request {
                    deferred.append(push)
                } else {
                    answer(request, outcome)
                }
            }
            if !deferred.isEmpty {
                metrics.pushesDeferred.increment(by: Int64(deferred.count))
                deferAgain(deferred)
            }
            // Replicas keep a window of recent history, not all of it: memory stays
            // bounded however long documents' histories grow. After answering, so a
            // trim never delays an acknowledgement or a relay; and a few per commit,
            // because documents written at the same pace reach the window together.
            var merged = scratch.replicas
            var triesLeft = Self.trimTriesPerCommit
            for document in merged.keys where triesLeft > 0 {
                guard merged[document]?.isDueForTrim(whenHolding: replicaWindow) == true else { continue }
                triesLeft -= 1
                let trimStarted = ContinuousClock.now
                if merged[document]?.trim(whenHolding: replicaWindow, keepingAtLeast: replicaWindow / 8) == true {
                    metrics.replicaTrims.increment()
                    metrics.trimLatency.recordInterval(since: trimStarted)
                }
            }
            replicas.withLock { cache in
                for (document, replica) in merged { cache.put(document, replica) }
            }
        case let .failure(error):
            logger.error("storing \(requests.count) requests failed; none acknowledged", metadata: ["error": "\(error)"])
            let failure = ServerError(.internalError, "the server could not store the change; nothing was stored, send it again")
            for request in requests { answer(request, .refused(failure)) }
        }
    }

    private func answer(_ request: Request, _ outcome: Outcome) {
        switch (request, outcome) {
        case let (.push(push), .stored(batchID, newEvents, storedAt)):
            metrics.eventsStored.increment(by: Int64(newEvents))
            metrics.batchesStored.increment()
            // A removed organisation's connections stop receiving the document before
            // the batch that removed it is relayed.
            for (organisation, role) in push.serverWrite?.membership ?? [:] where role == nil {
                hub.endAccess(push.document, organisation: organisation)
            }
            let relayed = hub.deliver(push.document, batchID: batchID, changes: push.changes, storedAt: storedAt, from: push.origin)
            metrics.relayed.increment(by: Int64(relayed))
            push.reply(.success(Stored(newEvents: newEvents, storedAt: storedAt)))
        case let (.push(push), .duplicate):
            push.reply(.success(Stored(newEvents: 0, storedAt: nil)))
        case let (.push(push), .refused(error)):
            metrics.pushesRefused.increment()
            push.reply(.failure(error))
        case (.push, .deferred):
            break  // (taken out by the caller)
        }
    }

    static func notFound(_ document: String) -> ServerError {
        ServerError(.notFound, "no document \(String(reflecting: document)) that this organisation can see")
    }

    // MARK: Applying a group of requests inside the transaction

    /// What one transaction changed, kept apart from the caches until it commits.
    private struct Scratch {
        var states: [String: DocumentState] = [:]
        /// Replicas taken out of the cache (or built) and merged into by this transaction.
        var replicas: [String: WindowedReplica] = [:]
        /// Replicas built from storage because they were not cached.
        var replicaLoads = 0
        /// Documents whose replica was rebuilt for a push older than its window.
        var rebuiltForOldHistory: [String] = []
        /// Time spent merging pushes into replicas (pass 2), for the slow-commit log.
        var mergeTime: Duration = .zero
        /// Per document and agent: events checked pushes of this transaction add, not
        /// stored yet, with the digests of the push that adds them.
        var pendingSpans: [String: [AgentID: [(seqs: Range<Int>, digests: EventDigests)]]] = [:]
    }

    /// How a transaction asks after and charges organisations' shares of merge time.
    private struct Sharing {
        let isOver: @Sendable (String) -> Bool
        let charge: @Sendable (String, Duration) -> Void
    }

    /// A push that passed the checks, waiting for its document's merge.
    private struct CheckedPush {
        let index: Int
        var newEvents: Int
        /// The agents whose events it adds, with the next sequence number after them.
        var changedAgents: [String: Int]
        /// The agents whose events it adds, with the sequence numbers it adds.
        var addedSeqs: [AgentID: Range<Int>] = [:]
    }

    /// The requests of one transaction, applied in three passes so that each document's
    /// pushes are merged into its replica at once — one replay per document per
    /// transaction, however many pushes arrived while the previous one was written:
    ///
    /// 1. In arrival order: creations and members are applied; each push is checked
    ///    (membership, dependencies, authorship, duplicates) against the document as if
    ///    every earlier push of the group were accepted.
    /// 2. Per document: the checked pushes are merged into the replica together. If that
    ///    fails, they are taken one by one in order from the document as it was before
    ///    the group, so each is accepted or refused exactly as if it had come alone.
    /// 3. In arrival order: accepted pushes are stored (batch ids give relay order).
    private struct Group {
        let requests: [Request]
        var outcomes: [Outcome?]
        var scratch = Scratch()
        /// Checked pushes per document, in arrival order; documents in order of first push.
        private var checked: [String: [CheckedPush]] = [:]
        private var documentOrder: [String] = []
        /// Each pushed-to document's state before this group's first push to it.
        private var before: [String: DocumentState] = [:]

        let agentLimits: AgentLimits
        let placementBudget: Int?
        let commentWebhooks: [WebhookEndpoint]
        /// nil: shares are not applied (the writer is stopping).
        let sharing: Sharing?
        /// The server's time, recorded as every stored batch's `storedAt`.
        let storedAt: Date

        init(requests: [Request], agentLimits: AgentLimits, placementBudget: Int?, sharing: Sharing?, storedAt: Date,
             commentWebhooks: [WebhookEndpoint] = []) {
            self.requests = requests
            self.commentWebhooks = commentWebhooks
            self.storedAt = storedAt
            self.agentLimits = agentLimits
            self.placementBudget = placementBudget
            self.sharing = sharing
            outcomes = Array(repeating: nil, count: requests.count)
        }

        /// Whether `push` waits: its organisation is over its share of merge time.
        private func mustDefer(_ push: Push) -> Bool {
            push.serverWrite == nil && sharing?.isOver(push.account.id) == true
        }

        mutating func apply(db: Database, cached: (String) -> DocumentState?, takeReplica cache: (String) -> WindowedReplica?) throws {
            for (index, request) in requests.enumerated() {
                do {
                    try check(request, index: index, db: db, cached: cached)
                } catch let refusal as ServerError {
                    outcomes[index] = .refused(refusal)
                }
            }
            var accepted: [CheckedPush] = []
            let mergeStarted = ContinuousClock.now
            for document in documentOrder {
                // An organisation that went over its share earlier in this transaction
                // waits now: its documents' pushes are deferred before they cost more.
                if let pushes = checked[document], !pushes.isEmpty,
                   pushes.allSatisfy({ mustDefer(pushRequest(at: $0.index)) }), let initial = before[document] {
                    for pending in pushes { outcomes[pending.index] = .deferred }
                    scratch.states[document]?.vector = initial.vector
                    scratch.states[document]?.eventCount = initial.eventCount
                    continue
                }
                let started = ContinuousClock.now
                let merged = try merge(document, db: db, cache: cache)
                accepted += merged
                charge(checked[document] ?? [], for: ContinuousClock.now - started)
            }
            scratch.mergeTime = ContinuousClock.now - mergeStarted
            try store(accepted.sorted { $0.index < $1.index }, db: db)
        }

        /// Charges a document's merge to the organisations whose pushes it merged, in
        /// equal parts per push.
        private func charge(_ pushes: [CheckedPush], for duration: Duration) {
            guard let sharing, !pushes.isEmpty else { return }
            let part = duration / pushes.count
            for pending in pushes {
                let push = pushRequest(at: pending.index)
                if push.serverWrite == nil { sharing.charge(push.account.id, part) }
            }
        }

        // Pass 1

        private mutating func check(_ request: Request, index: Int, db: Database, cached: (String) -> DocumentState?) throws {
            // The server's clock, as for the batches: a document's creation and its
            // membership rows carry the time the server judges by.
            let now = storedAt
            switch request {
            case let .push(push):
                // (An organisation over its share when the transaction began had its
                // pushes held back by `takeRequests`; one that goes over during it is
                // deferred per document in pass 2.)
                var existing = try state(of: push.document, db: db, cached: cached)
                if let write = push.serverWrite, write.createsDocument {
                    guard existing == nil else {
                        throw ServerError(.alreadyExists, "document \(String(reflecting: push.document)) already exists; choose another id")
                    }
                    try db.execute(sql: "INSERT INTO document (id, createdBy, createdAt) VALUES (?, ?, ?)",
                                   arguments: [push.document, push.account.id, now])
                    existing = DocumentState(roles: [:], vector: [:], eventCount: 0)
                    scratch.replicas[push.document] = WindowedReplica()
                }
                guard var state = existing else { throw PushCommitter.notFound(push.document) }
                let standing = Self.standing(of: push.account, in: state)
                if push.serverWrite == nil, standing == .outsider { throw PushCommitter.notFound(push.document) }
                if before[push.document] == nil {
                    before[push.document] = state
                    documentOrder.append(push.document)
                }
                let added = try Self.newEvents(of: push, after: state.vector, standing: standing, index: index)
                try checkAgentCount(adding: added, to: state, account: push.account)
                // Events it repeats must be the events the document has.
                let repeating = push.summary.runs.filter { $0.seqs.lowerBound < (state.vector[$0.agent.name] ?? 0) }.map(\.agent)
                for agent in Set(repeating) {
                    try AgentSpans.checkRepeated(push.summary.digests, agent: agent, known: state.vector[agent.name] ?? 0,
                                                 document: push.document, db: db,
                                                 pending: scratch.pendingSpans[push.document]?[agent] ?? [])
                }
                for (agent, seqs) in added.addedSeqs {
                    scratch.pendingSpans[push.document, default: [:]][agent, default: []].append((seqs, push.summary.digests))
                }
                if let write = push.serverWrite {
                    // Written with the batch, and before later pushes of this group are
                    // checked: a removed member's next push is refused at once. (The
                    // server's own batch always merges: it was made on the full history.)
                    for (organisation, role) in write.membership {
                        if let role {
                            try db.execute(sql: """
                                INSERT INTO membership (documentID, organisation, role, addedBy, addedAt) VALUES (?, ?, ?, ?, ?)
                                ON CONFLICT (documentID, organisation) DO UPDATE SET role = excluded.role
                                """, arguments: [push.document, organisation, role.rawValue, push.account.id, now])
                        } else {
                            try db.execute(sql: "DELETE FROM membership WHERE documentID = ? AND organisation = ?",
                                           arguments: [push.document, organisation])
                        }
                        state.roles[organisation] = role
                    }
                    try write.audit?.insert(db)
                    if let notification = write.notification {
                        try WebhookDelivery.enqueue(notification, for: write.webhookEndpoints, at: Date(), db)
                    }
                }
                if added.newEvents == 0 && checked[push.document, default: []].isEmpty {
                    // Everything in it is stored already.
                    scratch.states[push.document] = state
                    outcomes[index] = .duplicate
                    return
                }
                // (With no new events but checked pushes before it, it repeats events of
                // this group, which may yet be refused: decided after the merge.)
                state.vector.merge(added.changedAgents) { _, new in new }
                state.eventCount += added.newEvents
                scratch.states[push.document] = state
                checked[push.document, default: []].append(added)
            }
        }

        /// Refuses a push that would give the document more agents than the limits:
        /// each agent is an entry of every version vector the server sends for the
        /// document, so their number bounds those messages. O(agents of the document).
        private func checkAgentCount(adding added: CheckedPush, to state: DocumentState, account: Account) throws {
            let newAgents = added.changedAgents.keys.filter { state.vector[$0] == nil }
            guard !newAgents.isEmpty else { return }
            guard state.vector.count + newAgents.count <= agentLimits.perDocument else {
                throw ServerError(.limitExceeded, "the document would have \(state.vector.count + newAgents.count) writers (agents); "
                                  + "at most \(agentLimits.perDocument) are accepted")
            }
            let prefix = "\(account.id)/"
            let own = state.vector.keys.count { $0.hasPrefix(prefix) } + newAgents.count { $0.hasPrefix(prefix) }
            guard own <= agentLimits.perOrganisation else {
                throw ServerError(.limitExceeded, "\(account.id) would have \(own) writers (agents) in the document; at most "
                                  + "\(agentLimits.perOrganisation) per organisation are accepted")
            }
        }

        static func standing(of account: Account, in state: DocumentState) -> ProposalPolicy.Standing {
            if account.isSecretariat { return .secretariat }
            return state.roles[account.id].map { .member($0) } ?? .outsider
        }

        private func state(of document: String, db: Database, cached: (String) -> DocumentState?) throws -> DocumentState? {
            if let state = scratch.states[document] ?? cached(document) { return state }
            guard let eventCount = try Int.fetchOne(db, sql: "SELECT eventCount FROM document WHERE id = ?", arguments: [document]) else {
                return nil
            }
            let roles = try SporStore.memberRoles(of: document, db)
            var vector: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT agent, nextSeq FROM documentAgent WHERE documentID = ?", arguments: [document]) {
                vector[row["agent"]] = row["nextSeq"]
            }
            return DocumentState(roles: roles, vector: vector, eventCount: eventCount)
        }

        /// The events `push` adds to a document whose version vector is `vector` (maybe
        /// none). Throws if it depends on events the document lacks, leaves a gap in an
        /// agent's events, adds events in another organisation's name, or makes a write
        /// (in an event the document lacks) that `standing` may not make.
        private static func newEvents(of push: Push, after vector: [String: Int], standing: ProposalPolicy.Standing,
                                      index: Int) throws -> CheckedPush {
            for dependency in push.summary.dependencies where (vector[dependency.agent.name] ?? 0) <= dependency.seq {
                throw ServerError(.missingDependencies, "the changes depend on \(dependency), which the server does not have: "
                                  + "push the changes it depends on first")
            }
            var added = CheckedPush(index: index, newEvents: 0, changedAgents: [:])
            let prefix = push.serverWrite == nil ? push.account.agentPrefix : ProposalSchema.serverAgent.name
            for run in push.summary.runs {
                let agent = run.agent.name
                let known = added.changedAgents[agent] ?? vector[agent] ?? 0
                guard run.seqs.lowerBound <= known else {
                    throw ServerError(.missingDependencies, "events of \(agent) start at \(run.seqs.lowerBound), but the server "
                                      + "has only \(known) of them: push the ones between first")
                }
                // Another organisation's events may be passed on only if the server
                // already has them: nobody writes in someone else's name.
                let isOwn = push.serverWrite == nil ? agent.hasPrefix(prefix) : agent == prefix
                if !isOwn && run.seqs.upperBound > known {
                    throw ServerError(.forbidden, "events by agent \(String(reflecting: agent)) cannot come from "
                                      + "\(push.account.id): its agents' names start with \(String(reflecting: push.account.agentPrefix))")
                }
                if run.seqs.upperBound > known {
                    added.newEvents += run.seqs.upperBound - known
                    added.changedAgents[agent] = run.seqs.upperBound
                    added.addedSeqs[run.agent] = (added.addedSeqs[run.agent]?.lowerBound ?? known)..<run.seqs.upperBound
                }
            }
            if push.serverWrite == nil, added.newEvents > 0,
               let refusal = ProposalSchema.writeRefusal(in: push.summary, writer: push.account.id, standing: standing,
                                                         isNew: { $0.seqs.upperBound > (vector[$0.author.name] ?? 0) }) {
                throw refusal.code == .notFound ? PushCommitter.notFound(push.document) : ServerError(.forbidden, refusal.message)
            }
            return added
        }

        // Pass 2

        /// Merges `document`'s checked pushes into its replica; returns those accepted.
        private mutating func merge(_ document: String, db: Database, cache: (String) -> WindowedReplica?) throws -> [CheckedPush] {
            guard let pushes = checked[document], !pushes.isEmpty, var state = scratch.states[document],
                  let initial = before[document] else { return [] }
            var replica = try takeReplica(of: document, db: db, cache: cache)
            defer { scratch.replicas[document] = replica }
            let commentsBefore = commentWebhooks.isEmpty ? [] : Set(replica.listItemIDs(ProposalSchema.comments))
            let all = pushes.map { pushRequest(at: $0.index).changes }
            // The group gets one push's budget: if many pushes together need more, they
            // are merged one by one, each with its own.
            if let rebuilt = try? Self.merge(all, into: &replica, placementBudget: placementBudget,
                                             rebuilding: { try Self.storedReplica(of: document, db: db) }) {
                if rebuilt { scratch.rebuiltForOldHistory.append(document) }
                try enqueueNewComments(of: document, before: commentsBefore, replica: replica, db: db)
                return pushes
            }
            // Some push does not apply (a failed merge changes nothing): one by one.
            var vector = initial.vector
            var accepted: [CheckedPush] = []
            var mergedHere: [[UInt8]] = []
            for pending in pushes {
                let push = pushRequest(at: pending.index)
                do {
                    let standing = Self.standing(of: push.account, in: state)
                    let added = try Self.newEvents(of: push, after: vector, standing: standing, index: pending.index)
                    guard added.newEvents > 0 else {
                        outcomes[pending.index] = .duplicate
                        continue
                    }
                    do {
                        if try Self.merge([push.changes], into: &replica, placementBudget: placementBudget, rebuilding: {
                            try Self.storedReplica(of: document, db: db, adding: mergedHere)
                        }) {
                            scratch.rebuiltForOldHistory.append(document)
                        }
                    } catch let error as CRDTError where error.code == .limitExceeded {
                        throw ServerError(.limitExceeded, "the changes would exceed a limit of the document: \(error.message)")
                    } catch let error as CRDTError {
                        throw ServerError(.invalidChanges, "the changes do not apply to the document: \(error.message)")
                    }
                    mergedHere.append(push.changes)
                    vector.merge(added.changedAgents) { _, new in new }
                    accepted.append(added)
                } catch let refusal as ServerError {
                    // The server's own batches are made on the full history and always
                    // apply; if one did not, its membership rows (written in pass 1) must
                    // not stay: the whole transaction is given up.
                    if push.serverWrite != nil { throw refusal }
                    outcomes[pending.index] = .refused(refusal)
                }
            }
            state.vector = vector
            state.eventCount = initial.eventCount + accepted.reduce(0) { $0 + $1.newEvents }
            scratch.states[document] = state
            try enqueueNewComments(of: document, before: commentsBefore, replica: replica, db: db)
            return accepted
        }

        /// Tells ``commentWebhooks`` of each item of `document`'s comments list that the
        /// merge added (in list order), in this transaction: stored with the batch that
        /// carries it, or not at all. Who commented is the organisation whose agent
        /// created the item (agents are named by their organisation, checked in pass 1).
        private func enqueueNewComments(of document: String, before: Set<ListItemID>, replica: WindowedReplica, db: Database) throws {
            guard !commentWebhooks.isEmpty else { return }
            for comment in replica.listItemIDs(ProposalSchema.comments) where !before.contains(comment) {
                let organisation = comment.event.agent.name.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
                let notification = WebhookNotification(id: UUID().uuidString.lowercased(), event: .commented, at: storedAt.formatted(.iso8601),
                                                       proposal: document, organisation: organisation, details: ["comment": comment.description])
                try WebhookDelivery.enqueue(notification, for: commentWebhooks, at: Date(), db)
            }
        }

        private func pushRequest(at index: Int) -> Push {
            switch requests[index] {
            case let .push(push): push
            }
        }

        /// The server's replica of `document`, held uniquely by the transaction: from this
        /// transaction, from the cache, or rebuilt from storage.
        private mutating func takeReplica(of document: String, db: Database,
                                          cache: (String) -> WindowedReplica?) throws -> WindowedReplica {
            if let replica = scratch.replicas.removeValue(forKey: document) ?? cache(document) { return replica }
            scratch.replicaLoads += 1
            return try Self.storedReplica(of: document, db: db)
        }

        /// A full replica of `document`'s stored batches, in order, then `adding` (merged
        /// by this transaction but not stored yet). A stored batch that does not merge
        /// (stored before the server checked merges) is left out, as every client
        /// leaves it out. Opened from the document's checkpoint, so O(texts) plus the
        /// batches stored after it; when those are many, the replica before `adding`
        /// becomes the new checkpoint, in this transaction (``DocumentCheckpoints``).
        private static func storedReplica(of document: String, db: Database, adding: [[UInt8]] = []) throws -> WindowedReplica {
            let rebuilt = try DocumentCheckpoints.rebuild(document, db: db)
            if rebuilt.isDueForCheckpoint { try DocumentCheckpoints.save(rebuilt, of: document, db: db) }
            var replica = WindowedReplica(document: rebuilt.document)
            if !adding.isEmpty, (try? replica.merge(encodedChanges: adding)) == nil {
                replica = WindowedReplica(document: rebuilt.document)
                for batch in adding { _ = try? replica.merge(encodedChanges: batch) }
            }
            return replica
        }

        /// Merges `batches` into `replica` as one change. If the replica's window lacks
        /// history they need (an offline branch older than it), rebuilds the replica with
        /// `rebuild` and merges again: a batch is refused only for a real reason.
        /// Returns whether it rebuilt; throws the merge's `CRDTError`, or what `rebuild`
        /// throws.
        private static func merge(_ batches: [[UInt8]], into replica: inout WindowedReplica, placementBudget: Int?,
                                  rebuilding rebuild: () throws -> WindowedReplica) throws -> Bool {
            do {
                try replica.merge(encodedChanges: batches, placementBudget: placementBudget)
                return false
            } catch where error.code == .historyTrimmed {
                replica = try rebuild()
                try replica.merge(encodedChanges: batches, placementBudget: placementBudget)
                return true
            }
        }

        // Pass 3

        /// Stores the accepted pushes (in arrival order) and each changed document's
        /// agents and event count.
        private mutating func store(_ accepted: [CheckedPush], db: Database) throws {
            let now = storedAt
            let storedSeconds = StoredBatch.storedTime(now)
            var changedAgents: [String: [String: Int]] = [:]
            for pending in accepted {
                guard pending.newEvents > 0 else {
                    outcomes[pending.index] = .duplicate
                    continue
                }
                let push = pushRequest(at: pending.index)
                // The statements of every push are prepared once per connection (cached).
                try db.cachedStatement(sql: """
                    INSERT INTO batch (documentID, changes, eventCount, ranges, accountID, storedAt) VALUES (?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [push.document, Data(push.changes), push.summary.eventCount,
                                             StoredBatch.format(ranges: push.summary.runs), push.account.id, now])
                let batchID = db.lastInsertedRowID
                outcomes[pending.index] = .stored(batchID: batchID, newEvents: pending.newEvents, storedAt: storedSeconds)
                for (agent, seqs) in pending.addedSeqs {
                    guard let digest = push.summary.digests.digest(of: agent, seqs: seqs) else {
                        throw ServerError(.internalError, "a checked push lacks the digests of \(agent)'s events \(seqs)")
                    }
                    try AgentSpans.insert(document: push.document, agent: agent.name, seqs: seqs, digest: digest, batchID: batchID, db: db)
                }
                changedAgents[push.document, default: [:]].merge(pending.changedAgents) { max($0, $1) }
            }
            for (document, agents) in changedAgents {
                for (agent, next) in agents {
                    try db.cachedStatement(sql: """
                        INSERT INTO documentAgent (documentID, agent, nextSeq) VALUES (?, ?, ?)
                        ON CONFLICT (documentID, agent) DO UPDATE SET nextSeq = excluded.nextSeq
                        """).execute(arguments: [document, agent, next])
                }
                let eventCount = scratch.states[document]?.eventCount ?? 0
                try db.cachedStatement(sql: "UPDATE document SET eventCount = ? WHERE id = ?").execute(arguments: [eventCount, document])
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, for logs.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
