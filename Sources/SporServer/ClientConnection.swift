import Foundation
import Logging
import NIOCore
import SporCRDT
import SporProposal
import SporWire
import Synchronization

/// One client connection, from HELLO to close: reads requests in order, answers
/// through the connection's ``Outbox``, and runs the pump that writes the outbox to
/// the socket (replies, catch-ups, live relays).
///
/// Failure modes: a malformed or oversized frame, a message out of place or a bad
/// handshake is answered with an ERROR frame whose code closes the connection
/// (Protocol/SPEC.md, "Errors"); a refused request is answered with a
/// request-level ERROR and the connection carries on.
struct ClientConnection {
    let id: ConnectionID
    let server: SporServer
    let channel: Channel
    let outbox: Outbox
    var logger: Logger

    private var account: Account?
    /// The hash of the token the connection authenticated with.
    private var tokenHash = Data()
    private var accountCheckedAt = ContinuousClock.now
    /// Whether the connection speaks protocol 3: EVENTS and PUSH_ACK carry the
    /// server's stored times (set by the handshake).
    private var storedTimes = false
    /// Whether the connection speaks protocol 4: catch-ups from nothing may start with SNAPSHOT.
    private var snapshots = false
    private var subscriptions: Set<String> = []
    /// This connection's pushes not answered yet: a request the server carries out
    /// itself (a process step, a membership change) waits for them, so that it sees
    /// every change sent before it, as the client expects.
    private let unansweredPushes = PushTracker()
    private var frameBucket: TokenBucket
    private var eventBucket: TokenBucket

    init(id: ConnectionID, server: SporServer, channel: Channel, logger: Logger) {
        self.id = id
        self.server = server
        self.channel = channel
        self.logger = logger
        let limits = server.configuration.limits
        let metrics = server.metrics
        let connectionLogger = logger
        let catchUps = CatchUpSender(server: server, connection: id)
        outbox = Outbox(channel: channel, limit: limits.maxQueuedBytesPerConnection, sendCatchUp: { try await catchUps.send($0, through: $1) }) { [channel] in
            metrics.slowConsumers.increment()
            connectionLogger.notice("disconnecting a slow consumer: its queue of relayed changes is full")
            channel.close(promise: nil)
        }
        frameBucket = TokenBucket(rate: limits.framesPerSecond, capacity: limits.frameBurst)
        eventBucket = TokenBucket(rate: limits.eventsPerSecond, capacity: limits.eventBurst)
    }

    /// Serves the connection until it closes; never throws. Requests are read here;
    /// everything sent goes through the outbox, which writes on the event loop.
    mutating func run(_ connection: NIOAsyncChannel<SporMessage, Never>) async {
        do {
            try await connection.executeThenClose { inbound in
                await readRequests(inbound)
                // The outbox writes what is queued, half-closes and closes the
                // channel (at once or after a grace period).
                try? await outbox.end.get()
                try? await channel.closeFuture.get()
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
        for document in subscriptions { server.hub.unsubscribe(document, connection: id) }
    }

    private mutating func readRequests(_ inbound: NIOAsyncChannelInboundStream<SporMessage>) async {
        do {
            var messages = inbound.makeAsyncIterator()
            while let message = try await messages.next() {
                server.metrics.framesReceived.increment()
                if let pause = frameBucket.take(1) { try await Task.sleep(for: pause) }
                // While shutting down, requests are no longer taken (nor answered: the
                // client resends them after reconnecting); the shutdown ends the connection.
                if server.isDraining { continue }
                if let closing = try await handle(message) {
                    outbox.finish(with: .error(closing))
                    // Read and drop whatever else comes until the connection closes.
                    while try await messages.next() != nil {}
                    return
                }
            }
            outbox.finish()
        } catch let error as WireError {
            server.metrics.protocolErrors.increment()
            logger.info("closing connection after a protocol error", metadata: ["error": "\(error)"])
            outbox.finish(with: .error(.init(code: error.code, message: error.message)))
        } catch {
            logger.debug("connection read ended", metadata: ["error": "\(error)"])
            outbox.finish()
        }
    }

    /// Handles one message; returns an error report when the connection must close.
    private mutating func handle(_ message: SporMessage) async throws -> SporMessage.ErrorReport? {
        guard let account else { return try await handshake(message) }
        let recheckInterval = server.configuration.limits.accountRecheckInterval
        if ContinuousClock.now - accountCheckedAt > recheckInterval {
            let accounts = try await server.accounts.accounts(readAfter: .now - recheckInterval)
            guard let current = accounts.byTokenHash[tokenHash], current.id == account.id else {
                return .init(code: .unauthenticated, message: "the organisation's token has been revoked or rotated")
            }
            self.account = current
            accountCheckedAt = accounts.readAt
        }
        switch message {
        case let .ping(nonce):
            outbox.enqueue(.pong(nonce: nonce))
        case .pong:
            break
        case let .createDocument(request, document):
            await unansweredPushes.waitUntilNone()
            outbox.enqueue(Self.reply(to: request, await server.records.create(document, by: account)))
        case let .addMember(request, document, organisation, role):
            await changeMembers(request, .add(organisation, Self.role(role)), of: document, by: account)
        case let .removeMember(request, document, organisation):
            await changeMembers(request, .remove(organisation), of: document, by: account)
        case let .setRole(request, document, organisation, role):
            await changeMembers(request, .setRole(organisation, Self.role(role)), of: document, by: account)
        case let .processStep(request, document, step):
            await unansweredPushes.waitUntilNone()
            switch await server.records.perform(step, on: document, by: account) {
            case let .success(record):
                outbox.enqueue(.stepRecorded(request: request, document: document, contentHash: record.contentHash, at: record.at))
            case let .failure(error):
                if error.code == .forbidden { logger.notice("refused a process step", metadata: ["reason": "\(error.message)"]) }
                outbox.enqueue(.error(.init(request: request, code: error.code, message: error.message)))
            }
        case let .listDocuments(request):
            outbox.enqueue(.documents(request: request, documents: try await server.store.documents(visibleTo: account)))
        case let .listRounds(request):
            outbox.enqueue(.rounds(request: request, rounds: try await server.store.roundEntries()))
        case let .subscribe(request, document, vector):
            try await subscribe(request, document, from: vector, account: account)
        case let .unsubscribe(document):
            subscriptions.remove(document)
            server.hub.unsubscribe(document, connection: id)
        case let .push(request, document, changes):
            try await push(request, document, changes, account: account)
        case .hello:
            return .init(code: .protocolViolation, message: "HELLO may only be sent once, as the first message")
        case .welcome, .snapshot, .events, .caughtUp, .pushAck, .ok, .documents, .rounds, .stepRecorded, .accessEnded, .error:
            return .init(code: .protocolViolation, message: "\(message.type) is a server message; clients may not send it")
        }
        return nil
    }

    /// Carries out a membership change after this connection's earlier pushes.
    private func changeMembers(_ request: UInt64, _ change: MembershipChange, of document: String, by account: Account) async {
        await unansweredPushes.waitUntilNone()
        outbox.enqueue(Self.reply(to: request, await server.records.change(change, of: document, by: account)))
    }

    private static func role(_ role: SporMessage.MemberRole) -> ParticipantRole {
        switch role {
        case .lead: .lead
        case .partner: .partner
        case .observer: .observer
        }
    }

    private static func reply(to request: UInt64, _ result: Result<Void, ServerError>) -> SporMessage {
        switch result {
        case .success: .ok(request: request)
        case let .failure(error): .error(.init(request: request, code: error.code, message: error.message))
        }
    }

    private mutating func handshake(_ message: SporMessage) async throws -> SporMessage.ErrorReport? {
        guard case let .hello(hello) = message else {
            return .init(code: .protocolViolation, message: "the first message must be HELLO, not \(message.type)")
        }
        let supported = SporProtocol.supportedVersions
        let version = min(hello.versions.upperBound, supported.upperBound)
        guard version >= max(hello.versions.lowerBound, supported.lowerBound) else {
            let advice = hello.versions.upperBound < supported.lowerBound ? "upgrade spor to a version that speaks protocol "
                + "\(supported.lowerBound) (opdater spor); " : ""
            return .init(code: .unsupportedVersion, message: "\(advice)this server speaks protocol versions "
                         + "\(supported.lowerBound)...\(supported.upperBound); the client offered "
                         + "\(hello.versions.lowerBound)...\(hello.versions.upperBound)")
        }
        guard let account = try await server.store.account(forToken: hello.token) else {
            logger.notice("refused a connection with an unknown or revoked token")
            return .init(code: .unauthenticated, message: "unknown or revoked token")
        }
        let hash = SporStore.hash(hello.token)
        guard server.authenticated(id, account: account.id, tokenHash: hash) else {
            let limit = server.configuration.limits.maxConnectionsPerAccount
            logger.notice("refused a connection: the organisation has the most connections allowed", metadata: ["organisation": "\(account.id)"])
            return .init(code: .tooManyConnections, message: "\(account.id) already has \(limit) connections open; close some and try again")
        }
        self.account = account
        storedTimes = version >= SporProtocol.storedTimesVersion
        snapshots = version >= SporProtocol.snapshotVersion
        tokenHash = hash
        accountCheckedAt = .now
        logger[metadataKey: "organisation"] = "\(account.id)"
        logger.info("authenticated", metadata: ["client": "\(LogText.escaped(hello.client))"])
        let limits = server.configuration.limits
        outbox.enqueue(.welcome(.init(
            version: version, organisation: account.id, organisationName: account.name,
            organisationKind: account.kind.rawValue, agentPrefix: account.agentPrefix,
            maxFrameBytes: limits.maxFrameBytes, maxBatchEvents: limits.maxBatchEvents,
            idleTimeoutSeconds: limits.idleTimeoutSeconds)))
        return nil
    }

    private mutating func subscribe(_ request: UInt64, _ document: String, from vector: VersionVector, account: Account) async throws {
        // A version no document can have: refused before it is held anywhere.
        let maxAgents = server.configuration.limits.maxAgentsPerDocument
        guard vector.agents.count <= maxAgents else {
            outbox.enqueue(.error(.init(request: request, code: .limitExceeded,
                                        message: "a version of \(vector.agents.count) agents; a document has at most \(maxAgents)")))
            return
        }
        let limit = server.configuration.limits.maxSubscriptionsPerConnection
        if !subscriptions.contains(document), subscriptions.count >= limit {
            // Subscriptions the server ended (a removal) no longer count.
            subscriptions = subscriptions.filter { server.hub.isSubscribed($0, connection: id) }
        }
        if !subscriptions.contains(document), subscriptions.count >= limit {
            outbox.enqueue(.error(.init(request: request, code: .tooManySubscriptions, message: "at most \(limit) documents per connection")))
            return
        }
        guard try await server.store.canAccess(document: document, account: account) else {
            outbox.enqueue(.error(.init(request: request, code: .notFound, message: PushCommitter.notFound(document).message)))
            return
        }
        let storedThrough = try await server.store.lastBatchID(of: document)
        server.hub.subscribe(document, connection: id, outbox: outbox, account: account, from: vector, storedThrough: storedThrough,
                             storedTimes: storedTimes, snapshots: snapshots)
        subscriptions.insert(document)
    }

    private mutating func push(_ request: UInt64, _ document: String, _ changes: [UInt8], account: Account) async throws {
        server.metrics.pushes.increment()
        let arrived = ContinuousClock.now
        let limits = server.configuration.limits
        let summary: ChangeSummary
        do {
            summary = try ChangeSummary(encodedChanges: changes, maxBodyBytes: limits.maxBatchBodyBytes)
        } catch where error.code == .limitExceeded {
            refuse(request, .batchTooLarge, "\(error.message); split the changes into smaller batches")
            return
        } catch {
            refuse(request, .invalidChanges, "the changes are not a valid change batch: \(error.message)")
            return
        }
        if let pause = eventBucket.take(Double(summary.eventCount)) { try await Task.sleep(for: pause) }
        guard summary.largestStringValue <= limits.maxValueBytes else {
            refuse(request, .batchTooLarge, "a value of \(summary.largestStringValue) bytes; at most \(limits.maxValueBytes) bytes per value are accepted")
            return
        }
        guard changes.count <= limits.maxFrameBytes - SporProtocol.frameOverheadAllowance else {
            refuse(request, .batchTooLarge, "a batch of \(changes.count) bytes could not be relayed in one frame; "
                   + "split it into batches of at most \(limits.maxFrameBytes - SporProtocol.frameOverheadAllowance) bytes")
            return
        }
        guard summary.eventCount <= limits.maxBatchEvents else {
            refuse(request, .batchTooLarge, "\(summary.eventCount) events in one batch; at most \(limits.maxBatchEvents) are accepted")
            return
        }
        let outbox = outbox
        let metrics = server.metrics
        let logger = logger
        let tracker = unansweredPushes
        let storedTimes = storedTimes
        tracker.started()
        server.committer.submit(.push(.init(document: document, account: account, changes: changes, summary: summary, origin: id) { result in
            defer { tracker.answered() }
            switch result {
            case let .success(stored):
                outbox.enqueue(.pushAck(request: request, document: document, newEvents: stored.newEvents,
                                        storedAt: storedTimes ? stored.storedAt ?? 0 : nil))
                metrics.pushLatency.recordInterval(since: arrived)
            case let .failure(error):
                if error.code == .forbidden { logger.warning("refused a push", metadata: ["reason": "\(error.message)"]) }
                outbox.enqueue(.error(.init(request: request, code: error.code, message: error.message)))
            }
        }))
        await server.committer.waitForRoom(organisation: account.id)
    }

    private func refuse(_ request: UInt64, _ code: WireErrorCode, _ message: String) {
        server.metrics.pushesRefused.increment()
        outbox.enqueue(.error(.init(request: request, code: code, message: message)))
    }
}

/// Sends a catch-up: the stored batches a subscriber lacks, then CAUGHT_UP; to a
/// subscriber that has nothing (protocol 4), the document's checkpoint first and then
/// only the batches stored after it (``SporStore/catchUpSnapshot(of:through:maxFrameBytes:)``). Reads
/// the store one step at a time and writes the next step only after the previous
/// frame reached the socket, so a large catch-up holds at most one step in memory
/// and goes at the pace of the client.
struct CatchUpSender: Sendable {
    let server: SporServer
    let connection: ConnectionID

    func send(_ catchUp: Outbox.CatchUp, through channel: Channel) async throws {
        var vector: [String: Int] = [:]
        for agent in catchUp.vector.agents { vector[agent.name] = catchUp.vector[agent] }
        var reached = vector
        var after: Int64 = 0
        let chunk = server.configuration.limits.catchUpFrameBytes
        if catchUp.snapshots, vector.isEmpty, server.hub.isSubscribed(catchUp.document, connection: connection),
           let snapshot = try await server.store.catchUpSnapshot(of: catchUp.document, through: catchUp.through,
                                                                 maxFrameBytes: server.configuration.limits.maxFrameBytes) {
            server.metrics.catchUpSnapshots.increment()
            try await channel.writeAndFlush(snapshot.frame).get()
            after = snapshot.throughBatch
            for run in snapshot.storedTimes where run.seqs.upperBound > reached[run.agent.name, default: 0] {
                reached[run.agent.name] = run.seqs.upperBound
            }
        }
        while server.hub.isSubscribed(catchUp.document, connection: connection) {
            let step = try await server.store.catchUpStep(of: catchUp.document, after: after, through: catchUp.through,
                                                          lacking: vector, maxBytes: chunk)
            after = step.lastScanned
            for range in step.ranges where range.seqs.upperBound > reached[range.agent, default: 0] {
                reached[range.agent] = range.seqs.upperBound
            }
            if !step.batches.isEmpty {
                server.metrics.catchUpBatches.increment(by: Int64(step.batches.count))
                try await write(.events(.init(document: catchUp.document, isCatchUp: true, batches: step.batches,
                                              storedAt: catchUp.storedTimes ? step.storedAt : nil)), to: channel)
            }
            if step.isComplete {
                var result: [AgentID: Int] = [:]
                for (name, count) in reached {
                    if let agent = try? AgentID(name) { result[agent] = count }
                }
                try await write(.caughtUp(document: catchUp.document, version: VersionVector(result)), to: channel)
                return
            }
        }
    }

    private func write(_ message: SporMessage, to channel: Channel) async throws {
        try await channel.writeAndFlush(Outbox.encode(message, allocator: channel.allocator)).get()
    }
}

/// Counts a connection's pushes in the committer; ``waitUntilNone()`` returns once all
/// of them are answered.
final class PushTracker: Sendable {
    private struct State {
        var unanswered = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func started() { state.withLock { $0.unanswered += 1 } }

    func answered() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.unanswered -= 1
            guard state.unanswered == 0 else { return [] }
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for waiter in ready { waiter.resume() }
    }

    func waitUntilNone() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mustWait = state.withLock { state -> Bool in
                guard state.unanswered > 0 else { return false }
                state.waiting.append(continuation)
                return true
            }
            if !mustWait { continuation.resume() }
        }
    }
}
