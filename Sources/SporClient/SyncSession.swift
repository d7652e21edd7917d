import Foundation
import SporCRDT
import SporProposal
import SporWire
import SporWireClient

/// One connection's worth of syncing (see ``SyncEngine``): a state machine fed by
/// the server's messages and, when watching, by a timer.
///
/// The reader hands each message to ``handle(_:)`` and waits for it, so a message is
/// merged and stored before the next is read — the connection's bounded inbound
/// buffer then slows the server down on a long catch-up instead of filling memory.
actor SyncSession {
    private enum Request {
        case list
        case rounds
        case create(entry: Int64, document: String)
        case push(entry: Int64, document: String, events: Int)
        case member(entry: Int64, document: String, change: MembershipChange)
        case step(entry: Int64, document: String, step: StepRequest)
    }

    /// Requests in flight at most; acknowledgements free slots.
    static let window = 32

    private let engine: SyncEngine
    private let workspace: Workspace
    private let connection: WireConnection
    private let welcome: SporMessage.Welcome
    /// This workspace's agent, read once: merges open documents as it.
    private let agent: AgentID
    private let watching: Bool
    private let progressHandler: (@Sendable (SyncProgress) -> Void)?
    private let onCaughtUp: (@Sendable (SyncReport) -> Void)?
    private let onActivity: (@Sendable (SyncActivity) -> Void)?

    private var nextRequest: UInt64 = 1
    private var pending: [UInt64: Request] = [:]
    /// SUBSCRIBE requests by id: only a refusal answers with the id (a catch-up ends
    /// with CAUGHT_UP, which names the document).
    private var subscribeRequests: [UInt64: String] = [:]
    /// This organisation's server id (new proposal ids start with it).
    private var organisation: String { welcome.organisation }
    private var listed = false
    private var subscribed: Set<String> = []
    private var awaitingCaughtUp: Set<String> = []
    private var caughtUp: Set<String> = []
    /// Documents subscribed to again after a push was refused as `historyDiverged`,
    /// until the catch-up repaired them.
    private var resubscribing: Set<String> = []
    /// Documents this session fetches whole (the workspace did not have them): none of
    /// their events can be this workspace's own unsynced ones.
    private var fetchedWhole: Set<String> = []
    private var creating: Set<String> = []
    private var inFlight: Set<Int64> = []
    private var blocked: Set<String> = []
    /// Documents whose changes from the server did not merge here: left alone for the
    /// rest of the session (nothing of them stored, their outbox waits) while the
    /// other documents sync.
    private var failedDocuments: Set<String> = []
    /// Entries the server refused in this session: not sent again until the next one.
    private var refusedEntries: Set<Int64> = []
    /// Pushes refused for dependencies the server did not have yet, with when to send
    /// them again: an earlier push of this workspace can still be on its way through an
    /// older connection the network broke (the server commits it a moment later).
    /// Refusing such a push for the whole session would block the document until the
    /// session ends — for a watching session, for good.
    private var retryAt: [Int64: ContinuousClock.Instant] = [:]
    private var retries: [Int64: Int] = [:]
    /// How often a push refused for missing dependencies is sent again in one session.
    static let dependencyRetries = 5
    private var loaded: [String: LoadedDocument] = [:]
    private var localDocuments: Set<String> = []
    private var expected: [String: Int] = [:]
    private var report = SyncReport()
    private var progress = SyncProgress()
    private var failure: (any Error)?
    private var finished = false
    private var reportedCaughtUp = false
    /// When the server last sent anything (pings are sent after a silence).
    private var lastHeard = ContinuousClock.now
    /// When the server last answered what this session waits for — a request, or a
    /// subscription's catch-up — or when the session started waiting. Relays and
    /// pongs do not count: a server that relays partners' changes but never answers
    /// this session's pushes is stalled all the same.
    private var lastAnswer = ContinuousClock.now
    /// Messages handled since `lastAnswer` (relays, pings): a timeout with many says the
    /// connection was read all along and the server did not answer.
    private var heardSinceAnswer = 0
    /// When the ping now unanswered was sent; nil when the server was heard since.
    private var pingSentAt: ContinuousClock.Instant?
    private var lastDataVersion: Int?

    init(engine: SyncEngine, connection: WireConnection, welcome: SporMessage.Welcome, agent: AgentID, watching: Bool,
         progress: (@Sendable (SyncProgress) -> Void)?, onCaughtUp: (@Sendable (SyncReport) -> Void)? = nil,
         onActivity: (@Sendable (SyncActivity) -> Void)? = nil) {
        self.engine = engine
        self.workspace = engine.workspace
        self.connection = connection
        self.welcome = welcome
        self.agent = agent
        self.watching = watching
        self.progressHandler = progress
        self.onCaughtUp = onCaughtUp
        self.onActivity = onActivity
    }

    /// Runs the session until it is complete (not watching), the connection ends, or
    /// the task is cancelled; returns what it did or throws why it stopped early.
    func run() async throws -> SyncReport {
        let connection = connection
        defer { Task { await connection.close() } }
        do {
            try await start()
        } catch {
            // The connection can break before the first request is out.
            throw Self.translate(error)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                do {
                    for try await message in connection.messages {
                        await handle(message)
                        if await isFinished { break }
                    }
                } catch {
                    await fail(Self.translate(error))
                }
                await connectionEnded()
            }
            group.addTask { [self] in
                while !(await isFinished) {
                    try await Task.sleep(for: SyncEngine.pollInterval)
                    await tick()
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
        if let failure { throw failure }
        report.outboxRemaining = (try? await workspace.asyncOutbox().count) ?? 0
        return report
    }

    private var isFinished: Bool { finished }

    private func start() async throws {
        localDocuments = Set(try await workspace.asyncProposals().map(\.id))
        lastDataVersion = try await workspace.dataVersion()
        try await send(.listRounds(request: request(.rounds)))
        try await send(.listDocuments(request: request(.list)))
    }

    // MARK: - Messages

    func handle(_ message: SporMessage) async {
        lastHeard = .now
        pingSentAt = nil
        switch message {
        case .documents, .rounds, .caughtUp, .ok, .pushAck, .error:
            restartAnswerClock()
        case let .events(events) where events.isCatchUp:
            restartAnswerClock()
        default:
            heardSinceAnswer += 1
        }
        do {
            // Whether the message can let more outbox entries go (a document caught
            // up, a request answered): only then is the outbox read again, not for
            // every EVENTS frame of a long catch-up.
            var mayPump = true
            switch message {
            case let .ping(nonce):
                mayPump = false
                try await connection.send(.pong(nonce: nonce))
            case let .documents(request, entries):
                pending[request] = nil
                try await listedDocuments(entries)
            case let .rounds(request, entries):
                mayPump = false
                pending[request] = nil
                report.skippedRounds = try await workspace.storeServerRounds(entries)
            case let .snapshot(snapshot):
                mayPump = false
                try await merge(snapshot)
            case let .events(events):
                mayPump = false
                try await merge(events.document, events.batches, storedAt: events.storedAt)
            case let .caughtUp(document, _):
                try await caughtUp(document)
            case let .ok(request):
                try await succeeded(request)
            case let .pushAck(request, _, _, storedAt):
                try await succeeded(request, storedAt: storedAt)
            case let .stepRecorded(request, _, contentHash, at):
                try await succeeded(request, step: (contentHash, at))
            case let .accessEnded(document):
                try await accessEnded(document)
            case let .error(error):
                try await refused(error)
            case .pong, .welcome, .hello, .createDocument, .addMember, .removeMember, .setRole, .processStep,
                 .listDocuments, .listRounds, .subscribe, .unsubscribe, .push:
                mayPump = false
            }
            if mayPump { try await pumpOutbox() }
            checkDone()
        } catch {
            fail(Self.translate(error))
        }
    }

    private func listedDocuments(_ entries: [SporMessage.DocumentEntry]) async throws {
        listed = true
        // The server's list is what this organisation may see. A local proposal not
        // on it is either waiting to be created (its outbox entry does that) or one
        // the server does not show this organisation: it stays local and its
        // changes stay in the outbox, reported by `outboxRemaining`.
        let documents = Set(entries.map(\.document))
        let outbox = try await workspace.asyncOutbox()
        let toCreate = Set(outbox.filter { $0.kind == .create }.map(\.document))
        var local: [String: Int] = [:]
        for summary in try await workspace.asyncProposals() { local[summary.id] = summary.eventCount }
        for entry in entries where !subscribed.contains(entry.document) {
            expected[entry.document] = max(0, entry.events - (local[entry.document] ?? 0))
        }
        // A proposal this workspace had from the server that the server no longer
        // lists: the organisation was removed from it (maybe while offline).
        for summary in try await workspace.asyncProposals() {
            if documents.contains(summary.id) {
                if summary.accessEndedAt != nil { try await workspace.clearAccessEnded(summary.id) }
            } else if summary.onServer, summary.accessEndedAt == nil, !toCreate.contains(summary.id), !creating.contains(summary.id),
                      !report.createdOnServer.contains(summary.id) {
                try await workspace.markAccessEnded(summary.id)
                report.accessEnded.append(summary.id)
                blocked.insert(summary.id)
            } else if summary.accessEndedAt != nil {
                blocked.insert(summary.id)
            }
        }
        progress.eventsExpected = expected.values.reduce(0, +)
        for document in documents.sorted() where !subscribed.contains(document) && !toCreate.contains(document) {
            try await subscribe(document)
        }
        publishProgress()
    }

    private func subscribe(_ document: String) async throws {
        if !isWaiting { restartAnswerClock() }
        if subscribed.insert(document).inserted { progress.documents += 1 }
        awaitingCaughtUp.insert(document)
        caughtUp.remove(document)
        let vector: VersionVector
        if localDocuments.contains(document), let state = try await workspace.loadForSync(document, agent: agent) {
            loaded[document] = state
            vector = try await workspace.subscriptionVector(document, of: state.document)
        } else {
            vector = VersionVector()
            fetchedWhole.insert(document)
        }
        let id = nextRequest
        nextRequest += 1
        subscribeRequests[id] = document
        try await send(.subscribe(request: id, document: document, version: vector))
    }

    /// The server ended this organisation's access to `document`.
    private func accessEnded(_ document: String) async throws {
        subscribed.remove(document)
        awaitingCaughtUp.remove(document)
        blocked.insert(document)
        try await workspace.markAccessEnded(document)
        if !report.accessEnded.contains(document) { report.accessEnded.append(document) }
    }

    private func merge(_ document: String, _ batches: [[UInt8]], storedAt: [Int64]?) async throws {
        guard subscribed.contains(document), !failedDocuments.contains(document) else { return }
        let isNew = !localDocuments.contains(document)
        let merged: (LoadedDocument, Int, [ForkRepair])
        do {
            merged = try await workspace.mergeFromServer(document, batches: batches, storedAt: storedAt, cached: loaded[document],
                                                         agent: agent, checkOwnEvents: !fetchedWhole.contains(document))
        } catch let error as CRDTError {
            try await serverChangesFailed(document, error)
            return
        }
        let (state, newEvents, repairs) = merged
        loaded[document] = state
        if !repairs.isEmpty {
            // The outbox of the document was rewritten: its new pushes may go.
            report.forks += repairs
            resubscribing.remove(document)
        }
        received(newEvents, of: document, isNew: isNew)
    }

    /// The start of a catch-up from nothing: the server's document file.
    private func merge(_ snapshot: SporMessage.Snapshot) async throws {
        let document = snapshot.document
        guard subscribed.contains(document), !failedDocuments.contains(document) else { return }
        let isNew = !localDocuments.contains(document)
        let merged: (LoadedDocument, Int)
        do {
            merged = try await workspace.mergeSnapshotFromServer(document, file: snapshot.file, storedTimes: snapshot.storedTimes,
                                                                 cached: loaded[document], agent: agent)
        } catch let error as CRDTError {
            try await serverChangesFailed(document, error)
            return
        }
        loaded[document] = merged.0
        received(merged.1, of: document, isNew: isNew)
    }

    /// One bad document must not stop the others: it is named and left alone.
    private func serverChangesFailed(_ document: String, _ error: CRDTError) async throws {
        try await documentFailed(document, "the server sent changes to \(document) that do not merge here (\(error)); nothing "
                                 + "of them was stored and its changes here wait. The other proposals synced; tell the secretariat")
    }

    private func received(_ newEvents: Int, of document: String, isNew: Bool) {
        localDocuments.insert(document)
        if isNew { report.newDocuments.append(document) }
        if newEvents > 0 {
            report.receivedEvents[document, default: 0] += newEvents
            if reportedCaughtUp { onActivity?(.received(document: document, events: newEvents)) }
        }
        progress.eventsReceived += newEvents
        publishProgress()
    }

    /// Stops syncing `document` for this session: unsubscribed, not waited for, its
    /// outbox kept; reported as a refusal with `message`.
    private func documentFailed(_ document: String, _ message: String) async throws {
        failedDocuments.insert(document)
        blocked.insert(document)
        awaitingCaughtUp.remove(document)
        report.refusals.append(.init(document: document, message: message))
        try await send(.unsubscribe(document: document))
    }

    private func caughtUp(_ document: String) async throws {
        guard !failedDocuments.contains(document), awaitingCaughtUp.remove(document) != nil else { return }
        caughtUp.insert(document)
        progress.documentsCaughtUp += 1
        if localDocuments.contains(document) {
            // One snapshot after a catch-up, so that the next open reads one file.
            let (state, _, _) = try await workspace.mergeFromServer(document, batches: [], cached: loaded[document], agent: agent,
                                                                    compactNow: true)
            loaded[document] = state
        }
        publishProgress()
    }

    private func succeeded(_ id: UInt64, step record: (contentHash: String, at: Int64)? = nil, storedAt: Int64? = nil) async throws {
        guard let request = pending.removeValue(forKey: id) else { return }
        switch request {
        case .list, .rounds:
            break
        case let .create(entry, document):
            try await workspace.acknowledge(entry)
            inFlight.remove(entry)
            creating.remove(document)
            report.createdOnServer.append(document)
            try await subscribe(document)
        case let .push(entry, document, events):
            try await workspace.acknowledge(entry, storedAt: storedAt)
            inFlight.remove(entry)
            report.pushedChanges += 1
            report.pushedEvents += events
            progress.changesPushed += 1
            if reportedCaughtUp { onActivity?(.sent(document: document, events: events)) }
            publishProgress()
        case let .member(entry, document, change):
            try await workspace.acknowledge(entry)
            inFlight.remove(entry)
            report.membershipChanges.append(.init(document: document, organisation: change.organisation, change: change))
        case let .step(entry, document, step):
            try await workspace.acknowledge(entry)
            inFlight.remove(entry)
            report.recordedSteps.append(.init(document: document, kind: step.kind, contentHash: record?.contentHash ?? "",
                                              at: Date(timeIntervalSince1970: TimeInterval(record?.at ?? 0))))
        }
    }

    private func refused(_ error: SporMessage.ErrorReport) async throws {
        if let document = subscribeRequests.removeValue(forKey: error.request) {
            // A refused SUBSCRIBE: stop waiting for that document's catch-up.
            awaitingCaughtUp.remove(document)
            subscribed.remove(document)
            blocked.insert(document)
            report.refusals.append(.init(document: document, message: "subscribing to \(document): \(error.message)"))
            return
        }
        guard error.request != 0, let request = pending.removeValue(forKey: error.request) else {
            if error.code < 20 {
                // A connection-level code: the server is closing the connection.
                let code: SyncError.Code = error.knownCode == .unauthenticated ? .authenticationFailed : .connectionLost
                fail(SyncError(code, "the server ended the connection: \(error.message)"))
            }
            return
        }
        switch request {
        case .list:
            fail(SyncError(.incompatibleServer, "the server refused to list proposals: \(error.message)", danish: "serveren ville ikke liste forslagene: \(error.message)"))
        case .rounds:
            break  // The workspace keeps the rounds it had.
        case let .create(entry, document):
            inFlight.remove(entry)
            creating.remove(document)
            if error.knownCode == .alreadyExists {
                // Created by an earlier sync whose acknowledgement was lost.
                try await workspace.acknowledge(entry)
                try await subscribe(document)
            } else {
                try await refuse(entry, document, "creating proposal \(document): \(error.message). Its changes wait "
                                 + "behind it; `spor discard \(document)` drops it (after saving your version)", blocking: true)
            }
        case let .push(entry, document, _):
            inFlight.remove(entry)
            let attempts = retries[entry, default: 0]
            if error.knownCode == .missingDependencies, attempts < Self.dependencyRetries {
                retries[entry] = attempts + 1
                retryAt[entry] = .now + .milliseconds(250 << attempts)
                return
            }
            retryAt[entry] = nil
            if error.knownCode == .historyDiverged {
                // Another copy of this workspace synced other events under its agent:
                // subscribing again from before the outbox brings them, and merging
                // them repairs the document (``Workspace/repairFork``), whose outbox
                // then holds this workspace's changes under a new agent.
                if !resubscribing.contains(document), subscribed.contains(document) {
                    resubscribing.insert(document)
                    try await subscribe(document)
                }
                return
            }
            try await refuse(entry, document, "a change to \(document): \(error.message). It stays in the outbox and the "
                             + "later changes to \(document) wait behind it: `spor status \(document)` shows them; "
                             + "`spor discard \(document)` drops them (after saving your version) and fetches the proposal again",
                             blocking: true)
        case let .member(entry, document, change):
            // A request, not local work: judged once, reported, and not sent again.
            inFlight.remove(entry)
            try await workspace.acknowledge(entry)
            report.refusals.append(.init(document: document, message: "\(Self.describe(change)) in \(document): \(error.message)"))
        case let .step(entry, document, step):
            inFlight.remove(entry)
            try await workspace.acknowledge(entry)
            report.refusals.append(.init(document: document, message: "\(Self.describe(step.kind)) of \(document): \(error.message)"))
        }
    }

    static func describe(_ change: MembershipChange) -> String {
        switch change {
        case let .add(organisation, role): "adding \(organisation) as \(role.englishName.lowercased())"
        case let .remove(organisation): "removing \(organisation)"
        case let .setRole(organisation, role): "making \(organisation) \(role.englishName.lowercased())"
        }
    }

    static func describe(_ kind: StepRequest.Kind) -> String {
        switch kind {
        case .submitForQualification: "submitting for professional qualification"
        case .submitForApproval: "submitting for the approval process"
        case .withdraw: "withdrawing"
        case .recordQualification: "recording the qualification"
        case .recordDecision: "recording the decision"
        }
    }

    /// Keeps a refused entry in the outbox with the reason; a refused creation or
    /// change stops the document's later entries for this session (they build on it).
    private func refuse(_ entry: Int64, _ document: String, _ message: String, blocking: Bool) async throws {
        refusedEntries.insert(entry)
        try await workspace.recordRefusal(of: entry, message)
        report.refusals.append(.init(document: document, message: message))
        if blocking { blocked.insert(document) }
    }

    // MARK: - Outbox

    /// Sends the outbox entries that may go now, in order, up to ``window`` in flight:
    /// creations once the list is known; changes and members of a document once it
    /// is caught up.
    private func pumpOutbox() async throws {
        guard listed, pending.count < Self.window else { return }
        var waitingForRetry: Set<String> = []
        let outbox = try await workspace.asyncOutbox()
        // A retry is due only for entries this session may still send: not for one
        // behind a change refused meanwhile (its document is blocked), nor for one a
        // fork repair rewrote under a new id. A retry left waiting would keep a
        // one-shot sync from ever finishing.
        let sendable = Set(outbox.lazy.filter { !self.refusedEntries.contains($0.id) && !self.blocked.contains($0.document) }.map(\.id))
        retryAt = retryAt.filter { sendable.contains($0.key) }
        for entry in outbox where pending.count < Self.window {
            guard !inFlight.contains(entry.id), !refusedEntries.contains(entry.id), !blocked.contains(entry.document) else { continue }
            switch entry.kind {
            case .create:
                guard !subscribed.contains(entry.document), !creating.contains(entry.document) else {
                    if subscribed.contains(entry.document) { try await workspace.acknowledge(entry.id) }
                    continue
                }
                var document = entry.document
                if !Workspace.isNamespaced(document, organisation: organisation) {
                    // Made before protocol 2: the server creates ids in the
                    // organisation's namespace only. The local proposal moves with its
                    // changes; the outbox is read again after this.
                    let renamed = Workspace.newProposalID(organisation: organisation)
                    try await workspace.renameUnsharedProposal(document, to: renamed)
                    report.renamed.append(.init(from: document, to: renamed))
                    localDocuments.remove(document)
                    document = renamed
                }
                creating.insert(document)
                inFlight.insert(entry.id)
                localDocuments.insert(document)
                try await send(.createDocument(request: request(.create(entry: entry.id, document: document)), document: document))
            case let .push(changes, events):
                guard caughtUp.contains(entry.document), !waitingForRetry.contains(entry.document) else { continue }
                if let due = retryAt[entry.id] {
                    // Later changes of the document depend on this one: they wait with it.
                    guard due <= .now else {
                        waitingForRetry.insert(entry.document)
                        continue
                    }
                    retryAt[entry.id] = nil
                }
                inFlight.insert(entry.id)
                try await send(.push(request: request(.push(entry: entry.id, document: entry.document, events: events)),
                                     document: entry.document, changes: changes))
            case let .member(change):
                guard caughtUp.contains(entry.document) else { continue }
                inFlight.insert(entry.id)
                let id = request(.member(entry: entry.id, document: entry.document, change: change))
                switch change {
                case let .add(organisation, role):
                    try await send(.addMember(request: id, document: entry.document, organisation: organisation, role: Self.wireRole(role)))
                case let .remove(organisation):
                    try await send(.removeMember(request: id, document: entry.document, organisation: organisation))
                case let .setRole(organisation, role):
                    try await send(.setRole(request: id, document: entry.document, organisation: organisation, role: Self.wireRole(role)))
                }
            case let .step(step):
                guard caughtUp.contains(entry.document) else { continue }
                inFlight.insert(entry.id)
                try await send(.processStep(request: request(.step(entry: entry.id, document: entry.document, step: step)),
                                            document: entry.document, step: Self.wireStep(step)))
            }
        }
    }

    static func wireRole(_ role: ParticipantRole) -> SporMessage.MemberRole {
        switch role {
        case .lead: .lead
        case .partner: .partner
        case .observer: .observer
        }
    }

    static func wireStep(_ step: StepRequest) -> SporMessage.ProcessStep {
        let kind: SporMessage.ProcessStep.Kind = switch step.kind {
        case .submitForQualification: .submitForQualification
        case .submitForApproval: .submitForApproval
        case .withdraw: .withdraw
        case .recordQualification: .recordQualification
        case .recordDecision: .recordDecision
        }
        var counts: [AgentID: Int] = [:]
        for (name, count) in step.version where count > 0 {
            if let agent = try? AgentID(name) { counts[agent] = count }
        }
        return SporMessage.ProcessStep(kind: kind, version: VersionVector(counts), outcome: step.outcome, note: step.note,
                                       grantedAmount: step.grantedAmount)
    }

    // MARK: - Completion, timer, failure

    private func checkDone() {
        guard listed, awaitingCaughtUp.isEmpty, pending.isEmpty, retryAt.isEmpty, failure == nil else { return }
        if watching {
            if !reportedCaughtUp {
                reportedCaughtUp = true
                onCaughtUp?(report)
            }
        } else {
            finished = true
        }
    }

    /// Whether the session waits for the server: requests unanswered or catch-ups
    /// not complete.
    private var isWaiting: Bool { !pending.isEmpty || !awaitingCaughtUp.isEmpty }

    /// The server answered, or the session starts waiting: the stall clock starts over.
    private func restartAnswerClock() {
        lastAnswer = .now
        heardSinceAnswer = 0
    }

    func tick() async {
        do {
            let now = ContinuousClock.now
            let limit = engine.stallTimeout
            if isWaiting, now - lastAnswer > limit {
                let waitingFor = pending.isEmpty ? "\(awaitingCaughtUp.count) catch-ups" : "\(pending.count) requests"
                fail(SyncError(.timeout, "the server has not answered for \(limit) (\(waitingFor) waiting, "
                               + "\(heardSinceAnswer) other messages received meanwhile)", danish: "serveren har ikke svaret i \(limit) (\(waitingFor) venter, \(heardSinceAnswer) andre beskeder modtaget imens)"))
                return
            }
            if let pingSentAt, now - pingSentAt > limit {
                fail(SyncError(.timeout, "the server has not answered a ping for \(limit)", danish: "serveren har ikke svaret på et ping i \(limit)"))
                return
            }
            if let due = retryAt.values.min(), due <= now {
                try await pumpOutbox()
                checkDone()
            }
            guard watching, listed else { return }
            if pingSentAt == nil, now - lastHeard > .seconds(max(1, welcome.idleTimeoutSeconds / 3)) {
                pingSentAt = now
                try await send(.ping(nonce: UInt64.random(in: 1...UInt64.max)))
            }
            let version = try await workspace.dataVersion()
            if version != lastDataVersion {
                lastDataVersion = version
                // Proposals created by the editor since the session started.
                for summary in try await workspace.asyncProposals() where !localDocuments.contains(summary.id) && !summary.onServer {
                    localDocuments.insert(summary.id)
                }
                try await pumpOutbox()
            }
            if ContinuousClock.now - lastListed > SyncEngine.relistInterval, !pending.values.contains(where: { if case .list = $0 { true } else { false } }) {
                lastListed = .now
                try await send(.listDocuments(request: request(.list)))
            }
        } catch {
            fail(Self.translate(error))
        }
    }

    private var lastListed = ContinuousClock.now

    private func fail(_ error: any Error) {
        guard failure == nil else { return }
        failure = error
        finished = true
        let connection = connection
        Task { await connection.close() }
    }

    private func connectionEnded() {
        guard !finished else { return }
        fail(SyncError(.connectionLost, "the connection to the server was lost", danish: "forbindelsen til serveren blev tabt"))
    }

    static func translate(_ error: any Error) -> any Error {
        switch error {
        case is SyncError, is WorkspaceError, is CancellationError: error
        case let error as CRDTError:
            SyncError(.incompatibleServer, "the server sent changes that do not merge (\(error)); nothing of them was stored", danish: "serveren sendte ændringer, der ikke kan flettes (\(error)); intet af dem blev gemt")
        case let error as WireError where error.isTruncatedAtClose:
            SyncError(.connectionLost, "the connection broke in the middle of a message", danish: "forbindelsen blev afbrudt midt i en besked")
        case is WireError:
            SyncError(.incompatibleServer, "the server sent bytes that are not Spor protocol (\(error))", danish: "serveren sendte data, der ikke er Spor-protokol (\(error))")
        default:
            SyncError(.connectionLost, "the connection to the server broke: \(error)", danish: "forbindelsen til serveren blev afbrudt: \(error)")
        }
    }

    // MARK: - Helpers

    private func request(_ kind: Request) -> UInt64 {
        if !isWaiting { restartAnswerClock() }
        let id = nextRequest
        nextRequest += 1
        pending[id] = kind
        return id
    }

    private func send(_ message: SporMessage) async throws {
        try await connection.send(message)
    }

    private func publishProgress() {
        progressHandler?(progress)
    }
}
