import Foundation
import Logging
import SporCRDT
import SporProposal
import SporWire

/// The requests the server carries out itself and records in the document as its own
/// agent (``ProposalSchema/serverAgent``): creating a document, changing its members
/// and taking process steps (submission, withdrawal, the secretariat's qualification
/// and decision).
///
/// Each request is decided by ``ProposalPolicy`` from the requester's standing in the
/// members table, then — for process steps — by ``Proposal``'s process rules on the
/// server's full replica of the document, with the server's clock and its calendar of
/// rounds. The batch it writes goes through ``PushCommitter`` like a push, with the
/// membership rows it changes, in one transaction.
///
/// One such request per document runs at a time (``DocumentLocks``): each is made on
/// the history including the previous one's batch, so the server's events form one
/// chain per document. Cost: a process step or a membership change replays the
/// document's whole stored history (O(history)); creating a document costs O(1).
final class ServerRecords: Sendable {
    private let store: SporStore
    private let committer: PushCommitter
    let now: @Sendable () -> Date
    let logger: Logger
    private let locks = DocumentLocks()
    let webhooks: [WebhookEndpoint]

    init(store: SporStore, committer: PushCommitter, now: @escaping @Sendable () -> Date, logger: Logger, webhooks: [WebhookEndpoint] = []) {
        self.store = store
        self.committer = committer
        self.now = now
        self.logger = logger
        self.webhooks = webhooks
    }

    /// What a recorded process step certifies.
    struct StepRecord: Sendable {
        /// The content hash of the submitted version (submissions), else empty.
        var contentHash: String
        /// The server's time of the step, whole seconds since 1970.
        var at: Int64
    }

    // MARK: Creating

    /// Creates `document` with `account` as its lead. New ids are in the creator's
    /// namespace (``isOwnID(_:of:)``), so a taken id is always one of its own.
    func create(_ document: String, by account: Account) async -> Result<Void, ServerError> {
        guard !account.isSecretariat else {
            return .failure(ServerError(.forbidden, "the secretariat does not lead proposals; a participating organisation creates it"))
        }
        guard Self.isOwnID(document, of: account) else {
            return .failure(ServerError(.invalidArgument, "a new proposal's id starts with the organisation's id and a dot "
                                        + "(\(account.id).…); \(String(reflecting: document)) does not"))
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, ServerError>, Never>) in
            do {
                committer.submit(try Self.creation(of: document, by: account) { continuation.resume(returning: $0.map { _ in () }) })
            } catch {
                continuation.resume(returning: .failure(Self.internalFailure(error)))
            }
        }
    }

    /// The committer's request that creates `document` with `account` as its lead:
    /// the server's first event writes the members map. Needs no history, so it is
    /// not serialised with other server writes (nothing else can write a document
    /// that does not exist yet).
    static func creation(of document: String, by account: Account,
                         reply: @escaping @Sendable (Result<PushCommitter.Stored, ServerError>) -> Void) throws -> PushCommitter.Request {
        var proposal = Proposal(document: Document(agent: ProposalSchema.serverAgent), actor: Actor(organisation: account.id, role: .member))
        try proposal.writeMembers([account.id: .lead])
        let batch = try proposal.document.encodedChanges()
        return .push(.init(document: document, account: account, changes: batch, summary: try ChangeSummary(encodedChanges: batch),
                           origin: PushCommitter.noConnection,
                           serverWrite: PushCommitter.ServerWrite(createsDocument: true, membership: [account.id: .lead]), reply: reply))
    }

    /// Whether `document` is an id `account` may create: `<account id>.<rest>`.
    /// Organisation ids made since protocol 2 contain no dot, so no two organisations'
    /// namespaces overlap and `alreadyExists` only ever answers for the creator's own.
    static func isOwnID(_ document: String, of account: Account) -> Bool {
        let prefix = account.id + "."
        return document.hasPrefix(prefix) && document.count > prefix.count
    }

    // MARK: Members

    /// Applies `change` to `document`'s members, asked by `account`.
    func change(_ change: MembershipChange, of document: String, by account: Account) async -> Result<Void, ServerError> {
        await locks.withLock(document) {
            do {
                let standing = try await store.standing(of: account, on: document)
                let roles = try await store.memberRoles(of: document)
                let changes: [String: ParticipantRole?]
                do throws(ProposalPolicy.Refusal) {
                    changes = try change.apply(to: roles, by: standing)
                } catch {
                    return .failure(Self.serverError(error, document: document))
                }
                if changes.isEmpty { return .success(()) }
                var proposal = try await fullProposal(document, actor: Self.actor(account))
                let before = proposal.document.versionVector
                try proposal.writeMembers(changes)
                let batch = try proposal.document.encodedChanges(since: before)
                return await commit(batch, to: document, for: account, PushCommitter.ServerWrite(membership: changes)).map { _ in () }
            } catch {
                return .failure(Self.internalFailure(error))
            }
        }
    }

    // MARK: Process steps

    /// Takes `step` on `document` for `account`, by the server's clock.
    func perform(_ step: SporMessage.ProcessStep, on document: String, by account: Account) async -> Result<StepRecord, ServerError> {
        await locks.withLock(document) {
            do {
                let standing = try await store.standing(of: account, on: document)
                if let refusal = ProposalPolicy.refusal(of: Self.action(of: step.kind), by: standing) {
                    return .failure(Self.serverError(refusal, document: document))
                }
                let calendar = try store.rounds()
                let now = now()
                var proposal = try await fullProposal(document, actor: Self.actor(account))
                let before = proposal.document.versionVector
                var record = StepRecord(contentHash: "", at: Int64(now.timeIntervalSince1970.rounded(.down)))
                var write = PushCommitter.ServerWrite()
                var notification = WebhookNotification(id: UUID().uuidString.lowercased(), event: .submitted, at: now.formatted(.iso8601),
                                                       proposal: document, organisation: account.id, details: [:])
                do {
                    switch step.kind {
                    case .submitForQualification, .submitForApproval:
                        let version: Version
                        do {
                            version = try proposal.document.version(of: step.version)
                        } catch {
                            return .failure(ServerError(.missingDependencies, "the version to submit names events the server "
                                                        + "does not have: push the changes first, then submit"))
                        }
                        let submission = try proposal.submit(step.kind == .submitForQualification ? .qualification : .approval,
                                                             at: now, calendar: calendar, version: version)
                        record.contentHash = submission.contentHash
                        notification.details = ["step": submission.step.rawValue, "contentHash": submission.contentHash, "round": submission.roundID]
                    case .withdraw:
                        try proposal.withdraw(at: now)
                        notification.event = .withdrawn
                    case .recordQualification:
                        guard let result = Qualification.Result(rawValue: step.outcome) else {
                            return .failure(ServerError(.invalidArgument, "a qualification result is "
                                                        + Qualification.Result.allCases.map(\.rawValue).joined(separator: ", ")))
                        }
                        try proposal.recordQualification(result, note: step.note, at: now)
                        write.audit = AuditEntry(at: now, actor: account.id, action: .qualificationRecorded, subject: document, detail: result.rawValue)
                        notification.event = .qualified
                        notification.details = ["result": result.rawValue]
                    case .recordDecision:
                        guard let outcome = Decision.Outcome(rawValue: step.outcome) else {
                            return .failure(ServerError(.invalidArgument, "a decision is "
                                                        + Decision.Outcome.allCases.map(\.rawValue).joined(separator: ", ")))
                        }
                        try proposal.recordDecision(outcome, note: step.note, grantedAmount: step.grantedAmount, at: now)
                        write.audit = AuditEntry(at: now, actor: account.id, action: .decisionRecorded, subject: document,
                                                 detail: outcome.rawValue + (step.grantedAmount.map { ", granted \($0) kr." } ?? ""))
                        notification.event = .decided
                        notification.details = ["outcome": outcome.rawValue, "grantedAmount": step.grantedAmount.map(String.init) ?? ""]
                    }
                } catch let error as ProposalError {
                    return .failure(Self.refusal(error))
                }
                guard proposal.document.versionVector != before else { return .success(record) }
                let batch = try proposal.document.encodedChanges(since: before)
                if !webhooks.isEmpty {
                    write.notification = notification
                    write.webhookEndpoints = webhooks
                }
                return await commit(batch, to: document, for: account, write).map { _ in record }
            } catch {
                return .failure(Self.internalFailure(error))
            }
        }
    }

    // MARK: Upgrading

    /// Writes the members map into every document stored before the server wrote
    /// one (protocol 1 stores): what the members table says, so that the content and
    /// `spor check` agree with the server on who leads. Runs once per such document;
    /// stops early (to resume at the next start) once `shouldContinue` says so.
    func backfillMembers(while shouldContinue: @Sendable () -> Bool = { true }) async {
        let documents: [String]
        do {
            documents = try await store.documentsWithoutServerEvents()
        } catch {
            logger.error("could not list documents to upgrade", metadata: ["error": "\(error)"])
            return
        }
        for document in documents where shouldContinue() {
            let result: Result<Void, ServerError> = await locks.withLock(document) {
                do {
                    let roles = try await store.memberRoles(of: document)
                    guard let lead = roles.first(where: { $0.value == .lead })?.key else { return .success(()) }
                    let account = try store.account(id: lead)
                    var proposal = try await fullProposal(document, actor: Self.actor(account))
                    let before = proposal.document.versionVector
                    try proposal.writeMembers(roles.mapValues { $0 })
                    let batch = try proposal.document.encodedChanges(since: before)
                    return await commit(batch, to: document, for: account, PushCommitter.ServerWrite()).map { _ in () }
                } catch {
                    return .failure(Self.internalFailure(error))
                }
            }
            if case let .failure(error) = result {
                logger.error("could not write the members of a document stored by an older server",
                             metadata: ["document": "\(document)", "error": "\(error.message)"])
            } else {
                logger.info("wrote the members of a document stored by an older server", metadata: ["document": "\(document)"])
            }
        }
    }

    // MARK: Helpers

    func fullProposal(_ document: String, actor: Actor) async throws -> Proposal {
        try await store.storedHistory(of: document).proposal(actor: actor)
    }

    private func commit(_ batch: [UInt8], to document: String, for account: Account,
                        _ write: PushCommitter.ServerWrite) async -> Result<Int, ServerError> {
        let summary: ChangeSummary
        do {
            summary = try ChangeSummary(encodedChanges: batch)
        } catch {
            return .failure(Self.internalFailure(error))
        }
        let committer = committer
        return await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int, ServerError>, Never>) in
            committer.submit(.push(.init(document: document, account: account, changes: batch, summary: summary,
                                         origin: PushCommitter.noConnection, serverWrite: write) { continuation.resume(returning: $0.map(\.newEvents)) }))
        }
    }

    static func actor(_ account: Account) -> Actor {
        Actor(organisation: account.id, role: account.isSecretariat ? .secretariat : .member)
    }

    static func action(of kind: SporMessage.ProcessStep.Kind) -> ProposalPolicy.Action {
        switch kind {
        case .submitForQualification, .submitForApproval: .submit
        case .withdraw: .withdraw
        case .recordQualification: .recordQualification
        case .recordDecision: .recordDecision
        }
    }

    static func serverError(_ refusal: ProposalPolicy.Refusal, document: String) -> ServerError {
        switch refusal.code {
        case .notFound: PushCommitter.notFound(document)
        case .forbidden: ServerError(.forbidden, refusal.message)
        case .invalidArgument: ServerError(.invalidArgument, refusal.message)
        }
    }

    /// A process rule's refusal: `stepRefused` with the reason (and the failing rules).
    static func refusal(_ error: ProposalError) -> ServerError {
        var message = error.message
        if !error.findings.isEmpty {
            message += ": " + error.findings.map(\.english).joined(separator: " ")
        }
        let code: WireErrorCode = error.code == .notPermitted ? .forbidden : .stepRefused
        return ServerError(code, truncated(message, toUTF8: SporProtocol.maxTextBytes - 16))
    }

    /// `text` cut at a character boundary to at most `limit` UTF-8 bytes.
    static func truncated(_ text: String, toUTF8 limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        for character in text {
            if result.utf8.count + character.utf8.count + 1 > limit { break }
            result.append(character)
        }
        return result + "…"
    }

    static func internalFailure(_ error: any Error) -> ServerError {
        if let error = error as? ServerError { return error }
        return ServerError(.internalError, "the server could not record the step; nothing was recorded, try again (\(error))")
    }
}

/// One holder per document at a time; waiters are served in arrival order.
actor DocumentLocks {
    private var held: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Runs `body` while holding `document`'s lock.
    nonisolated func withLock<T: Sendable>(_ document: String, _ body: @Sendable () async -> T) async -> T {
        await acquire(document)
        let result = await body()
        await release(document)
        return result
    }

    private func acquire(_ document: String) async {
        guard held.contains(document) else {
            held.insert(document)
            return
        }
        await withCheckedContinuation { waiting[document, default: []].append($0) }
    }

    private func release(_ document: String) {
        guard var queue = waiting[document], !queue.isEmpty else {
            held.remove(document)
            waiting[document] = nil
            return
        }
        let next = queue.removeFirst()
        waiting[document] = queue.isEmpty ? nil : queue
        next.resume()
    }
}

// MARK: - Deadline reminders

extension ServerRecords {
    /// The reminders due at the server's clock: for each proposal with a round, the
    /// next submission it has not made (qualification, then approval; none once
    /// withdrawn or decided), told once when its deadline is 7 Copenhagen calendar days
    /// away or fewer, and once more at 1 day or fewer, while the deadline is ahead (a
    /// proposal first seen within 1 day gets that one only).
    /// Returns how many were enqueued. Reads every proposal's history: O(total history).
    func remindOfDeadlines() async -> Int {
        let endpoints = webhooksTold(.deadlineSoon)
        guard !endpoints.isEmpty else { return 0 }
        let now = now()
        var enqueued = 0
        do {
            let calendar = try store.rounds()
            for document in try await store.documentIDs() {
                guard let content = try? await fullProposal(document, actor: Actor(organisation: "server", role: .secretariat)).content(),
                      let step = content.nextSubmission, let roundID = content.roundID, let round = try? calendar.round(id: roundID),
                      let deadline = try? round.deadlineInstant(for: step), deadline > now,
                      let daysLeft = CopenhagenTime.calendarDays(from: now, to: deadline) else { continue }
                // A proposal first seen at 1 day gets the 1-day reminder only.
                let due = [7, 1].filter { daysLeft <= $0 }
                for threshold in due {
                    let notification = WebhookNotification(
                        id: UUID().uuidString.lowercased(), event: .deadlineSoon, at: now.formatted(.iso8601), proposal: document,
                        organisation: content.lead ?? "",
                        details: ["step": step.rawValue, "deadline": deadline.formatted(.iso8601), "daysLeft": "\(daysLeft)", "round": roundID])
                    if try await store.remind(document, of: step.rawValue, daysBefore: threshold,
                                              notification: threshold == due.last ? notification : nil,
                                              endpoints: endpoints, at: now) {
                        enqueued += 1
                    }
                }
            }
        } catch {
            logger.error("could not look at the deadlines for reminders", metadata: ["error": "\(error)"])
        }
        return enqueued
    }

    /// The configured endpoints that take `event`.
    func webhooksTold(_ event: WebhookEndpoint.Event) -> [WebhookEndpoint] {
        webhooks.filter { $0.events.contains(event) }
    }
}
