import Foundation
import Logging
import SporCRDT
import SporProposal
import SporServer

/// What the web pages need of each proposal, computed once per stored head.
///
/// Reading a proposal means merging its whole stored history (O(history): tens of
/// milliseconds for 100,000 events), so the round page could not afford it per row.
/// An entry is keyed by the document's newest batch id (``DocumentHead``), which moves
/// exactly when a batch is committed; a page asks for the heads (one query) and
/// recomputes only the documents whose head moved. What is kept is the readable
/// content (the proposal's text and records, not its history), the latest save's
/// time and whether each submission's recorded hash matches the history, so memory
/// grows with the proposals' text, not their edits.
actor ProposalCache {
    struct Entry: Sendable {
        let lastBatch: Int64
        let content: ProposalContent
        /// The latest save's time (its author's clock), as `spor overview` shows it
        /// (``Proposal/lastSaveTime()``).
        let lastChange: Date?
        /// For each submission: whether the content at its version still hashes to
        /// the recorded hash (``Proposal/verify(_:)``).
        let submissionMatches: [ListItemID: Bool]
    }

    private let store: SporStore
    private let logger: Logger
    private var entries: [String: Entry] = [:]
    /// Documents being computed, so that two requests for one wait for one result.
    private var inFlight: [String: Task<Entry, any Error>] = [:]
    private(set) var computed = 0

    init(store: SporStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// The entry for `head`, computed if its head moved since it was last computed.
    func entry(for head: DocumentHead) async throws -> Entry {
        if let entry = entries[head.document], entry.lastBatch == head.lastBatch { return entry }
        if let task = inFlight[head.document] {
            let entry = try await task.value
            if entry.lastBatch >= head.lastBatch { return entry }
        }
        let store = store
        let task = Task.detached(priority: .userInitiated) { () throws -> Entry in
            try await Self.compute(head.document, store: store)
        }
        inFlight[head.document] = task
        defer { if inFlight[head.document] == task { inFlight[head.document] = nil } }
        let entry = try await task.value
        computed += 1
        if (entries[head.document]?.lastBatch ?? -1) < entry.lastBatch { entries[head.document] = entry }
        return entry
    }

    /// Entries for every head. When several moved, they are computed on every core,
    /// at most one per core at a time (each holds a whole replica while it merges).
    func entries(for heads: [DocumentHead]) async throws -> [Entry] {
        let stale = heads.filter { entries[$0.document]?.lastBatch != $0.lastBatch }
        if stale.count > 1 {
            let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = stale.makeIterator()
                for _ in 0..<width {
                    guard let head = next.next() else { break }
                    group.addTask { _ = try await self.entry(for: head) }
                }
                while try await group.next() != nil {
                    guard let head = next.next() else { continue }
                    group.addTask { _ = try await self.entry(for: head) }
                }
            }
        }
        var result: [Entry] = []
        result.reserveCapacity(heads.count)
        for head in heads { result.append(try await entry(for: head)) }
        return result
    }

    private static func compute(_ document: String, store: SporStore) async throws -> Entry {
        let history = try await store.storedHistory(of: document)
        let proposal = history.proposal(actor: Actor(organisation: "spor-web", role: .secretariat))
        let content = try proposal.content()
        let lastChange = proposal.lastSaveTime()
        var matches: [ListItemID: Bool] = [:]
        for submission in content.submissions { matches[submission.id] = (try? proposal.verify(submission)) ?? false }
        return Entry(lastBatch: history.lastBatch, content: content, lastChange: lastChange, submissionMatches: matches)
    }
}
