import Foundation
import SporCRDT
import SporTestSupport
import Testing
@testable import SporProposal

/// Partners editing one proposal offline, syncing in random order, with duplicates
/// and partitions: every replica that has seen the same changes shows the same
/// proposal, and no accepted addition is lost.
@Suite("Convergence of proposals")
struct ProposalConvergenceTests {
    static let words = ["skybrud", "kælder", " ", "tag", "🌧", "\n", "grøn", "data", "åen"]

    /// One random edit by `proposal`'s actor. Edits that the current state refuses
    /// (an item a partner removed meanwhile) throw a ProposalError and change nothing.
    static func randomEdit(_ proposal: inout Proposal, _ random: inout SeededRandom, now: Date) throws {
        let content = try proposal.content()
        func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[Int.random(in: 0..<items.count, using: &random)] }
        func text(_ count: Int) -> String { (0..<count).map { _ in words.randomElement(using: &random)! }.joined() }
        switch Int.random(in: 0..<10, using: &random) {
        case 0, 1:
            let section = Section.allCases.randomElement(using: &random)!
            var scalars = Array(content.text(section).unicodeScalars)
            let at = Int.random(in: 0...scalars.count, using: &random)
            let removed = Int.random(in: 0...min(4, scalars.count - at), using: &random)
            scalars.replaceSubrange(at..<at + removed, with: text(Int.random(in: 0...3, using: &random)).unicodeScalars)
            try proposal.setSection(section, to: String(String.UnicodeScalarView(scalars)))
        case 2:
            try proposal.setAmountRequested(Int64(Int.random(in: 0...20, using: &random)) * 50_000)
        case 3:
            let code = ["0101", "0147", "0751", "0461", "1082", "1084"].randomElement(using: &random)!
            try proposal.addParticipant(ParticipantInput(organisation: .registered(Organisation.withCode(code)!),
                                                         role: ParticipantRole.allCases.randomElement(using: &random)!))
        case 4:
            guard let participant = pick(content.participants) else { return }
            try proposal.updateParticipant(participant.id, ParticipantInput(
                role: Bool.random(using: &random) ? .partner : nil,
                cofinancingCash: Int64(Int.random(in: 0...9, using: &random)) * 10_000))
        case 5:
            try proposal.addBudgetLine(BudgetLineInput(item: text(2), amount: Int64(Int.random(in: 1...100, using: &random)) * 1_000,
                                                       source: FundingSource.allCases.randomElement(using: &random)!, year: 2025))
        case 6:
            if Bool.random(using: &random), let line = pick(content.budget) {
                try proposal.removeBudgetLine(line.id)
            } else if let participant = pick(content.participants) {
                try proposal.removeParticipant(participant.id)
            }
        case 7:
            let section = Section.allCases.randomElement(using: &random)!
            let length = content.text(section).unicodeScalars.count
            let start = Int.random(in: 0...length, using: &random)
            try proposal.addComment(on: section, range: start..<Int.random(in: start...length, using: &random), text: text(2), at: now)
        case 8:
            guard let comment = pick(content.comments) else { return }
            if Bool.random(using: &random) { try proposal.reply(to: comment.id, text: text(1), at: now) }
            else { try proposal.setResolved(comment.id, Bool.random(using: &random)) }
        default:
            try proposal.addMilestone(title: text(1) + "x", date: CalendarDate(year: 2025, month: Int.random(in: 1...12, using: &random), day: 1))
        }
    }

    @Test("random edits by 3-5 partners under random delivery converge", arguments: propertySeeds(25, base: 0x5B0F))
    func converges(seed: UInt64) throws {
        print("proposal convergence seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter ProposalConvergenceTests)")
        var random = SeededRandom(seed: seed)
        let actors = [Actors.aarhus, Actors.odense, Actors.midtjylland, Actors.dgo, Actor(organisation: "0147", role: .member)]
        let count = Int.random(in: 3...5, using: &random)
        let base = try completeProposal()
        var replicas = try (0..<count).map { try replica(of: base, agent: "agent-\($0)", actor: actors[$0]) }
        var sides: [Int]? = nil
        let now = try copenhagen("2024-09-01T12:00")
        // Budget lines every replica added and removed: the merged budget must be exactly
        // the base's lines plus the added ones minus the removed ones.
        var addedLines = Set<ListItemID>(), removedLines = Set<ListItemID>()
        for _ in 0..<Int.random(in: 40...90, using: &random) {
            let roll = Int.random(in: 0..<100, using: &random)
            if roll < 55 {
                let index = Int.random(in: 0..<count, using: &random)
                let before = Set(try replicas[index].content().budget.map(\.id))
                let bytes = replicas[index].document.encoded()
                do {
                    try Self.randomEdit(&replicas[index], &random, now: now)
                } catch let error as ProposalError {
                    // Refusals are allowed (a DGO editing content, a blank comment, an
                    // organisation this replica lists already); they change nothing.
                    #expect([.notPermitted, .invalidValue, .duplicateParticipant].contains(error.code), "seed \(seed): \(error)")
                    #expect(replicas[index].document.encoded() == bytes, "seed \(seed)")
                }
                let after = Set(try replicas[index].content().budget.map(\.id))
                addedLines.formUnion(after.subtracting(before))
                removedLines.formUnion(before.subtracting(after))
            } else if roll < 90 {
                let from = Int.random(in: 0..<count, using: &random), to = Int.random(in: 0..<count, using: &random)
                guard from != to, sides.map({ $0[from] == $0[to] }) ?? true else { continue }
                // Sometimes the whole history again: duplicates must be harmless.
                let since = Bool.random(using: &random) ? VersionVector() : replicas[to].document.versionVector
                var document = replicas[to].document
                try document.merge(encodedChanges: replicas[from].document.encodedChanges(since: since))
                replicas[to] = Proposal(document: document, actor: replicas[to].actor)
            } else {
                sides = sides == nil ? (0..<count).map { _ in Int.random(in: 0...1, using: &random) } : nil
            }
        }
        // Heal: everyone sends everything to everyone.
        for to in 0..<count {
            for from in 0..<count where from != to { try sync(&replicas[to], from: replicas[from]) }
        }
        for to in 0..<count {
            for from in 0..<count where from != to { try sync(&replicas[to], from: replicas[from]) }
        }
        let first = try replicas[0].content()
        for other in replicas.dropFirst() {
            #expect(try other.content() == first, "seed \(seed)")
            #expect(other.document.version == replicas[0].document.version, "seed \(seed)")
        }
        // And the merged document survives its file format.
        let reopened = Proposal(document: try Document(decoding: replicas[0].document.encoded()), actor: Actors.aarhus)
        #expect(try reopened.content() == first, "seed \(seed)")
        let baseLines = Set(try base.content().budget.map(\.id))
        #expect(Set(first.budget.map(\.id)) == baseLines.union(addedLines).subtracting(removedLines), "seed \(seed)")
    }
}
