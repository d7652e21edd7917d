import Foundation
import SporCRDT
import SporProposal

/// Builds a realistic large proposal for the benchmark: three organisations writing
/// 20 sections (13 of the call's, 7 extra) keystroke by keystroke (with corrections), partly offline and merged,
/// plus 30 participants, 200 budget lines, milestones and comments — about 100,000
/// events of history. Deterministic for a seed. `spor-bench` and `spor-loadgen web`
/// build it.
public struct ProposalHistory: Sendable {
    typealias Random = SeededGenerator

    static let words = ["klimatilpasning", "skybrud", "kommunerne", "regionen", "data", "grønne", "tage", "og", "i", "til",
                        "med", "der", "at", "løsninger", "afprøves", "sensorer", "borgere", "vand", "kloak", "analyse",
                        "resultater", "deles", "alle", "udvikling", "test", "demonstration", "🌧", "CO₂", "ærø", "Ødis"]

    public let proposal: Proposal
    public let typedKeystrokes: Int

    /// The agents' names `spor-bench` has always used (its figures are for these).
    public static let benchAgents = ["aarhus-bench", "partner-1-bench", "partner-2-bench"]

    /// - Parameters:
    ///   - targetEvents: stop typing once the history has this many events.
    ///   - agents: the names of the lead's agent and the two partners' (a server takes
    ///     only agents named after the pushing organisation: `0751/…`).
    public init(seed: UInt64, targetEvents: Int, agents: [String] = ProposalHistory.benchAgents) throws {
        var random = Random(state: seed)
        let calendar = RoundCalendar.builtIn
        let aarhus = Actor(organisation: "0751", role: .member)
        var lead = try Proposal.create(agent: try AgentID(agents[0]), actor: aarhus,
                                       title: "Skybrudssikring med grønne tage i tætte byområder", roundID: "2024-autumn", calendar: calendar)
        // 30 participants: the lead, 25 municipalities and regions, 4 others.
        let codes = Organisation.all.map(\.code).filter { $0 != "0751" }.shuffled(using: &random).prefix(25)
        for code in codes {
            guard let organisation = Organisation.withCode(code) else { continue }
            try lead.addParticipant(ParticipantInput(
                organisation: .registered(organisation), role: .partner, contactName: "Kontakt \(code)",
                contactEmail: "klima@\(organisation.shortName.lowercased().filter(\.isLetter)).dk",
                cofinancingCash: Int64(Int.random(in: 0...20, using: &random)) * 10_000,
                cofinancingHours: Int64(Int.random(in: 0...500, using: &random))))
        }
        for (name, kind) in [("Grøn Tag ApS", ParticipantOrganisation.OtherKind.company), ("DTU Miljø", .knowledgeInstitution),
                             ("Danva", .association), ("Vandværk Øst", .other)] {
            try lead.addParticipant(ParticipantInput(organisation: .other(name: name, kind: kind), role: .observer))
        }
        // 200 budget lines, the Klimaalliancen ones summing to the amount requested.
        var requested: Int64 = 0
        for index in 0..<200 {
            let source = FundingSource.allCases[index % 3]
            let amount = Int64(Int.random(in: 1...200, using: &random)) * 1_000
            if source == .klimaalliancen { requested += amount }
            try lead.addBudgetLine(BudgetLineInput(item: "Post \(index + 1): \(Self.words[index % Self.words.count])",
                                                   amount: amount, source: source, year: 2025 + index % 3))
        }
        try lead.setAmountRequested(requested)
        for month in 1...12 {
            try lead.addMilestone(title: "Milepæl \(month)", date: CalendarDate(year: 2025, month: month, day: 1))
        }
        var extras: [ListItemID] = []
        for index in 1...7 { extras.append(try lead.addExtraSection(heading: "Bilag \(index)")) }

        // Three replicas type; they sync every few thousand keystrokes (offline work).
        let actors = [aarhus, Actor(organisation: "0461", role: .member), Actor(organisation: "1082", role: .member)]
        var replicas = [lead]
        for (index, actor) in actors.enumerated().dropFirst() {
            var document = Document(agent: try AgentID(agents[index]))
            try document.merge(encodedChanges: lead.document.encodedChanges())
            replicas.append(Proposal(document: document, actor: actor))
        }
        // Partners type in the 13 body sections and the 7 extra ones (not the title).
        var texts = Section.allCases.filter { $0 != .title }.map { ProposalSchema.text(of: $0) }
        for extra in extras { texts.append(try ProposalSchema.extraSections.child(extra, .map).child("body", .text)) }
        // Register the section texts in the proposal map (as setSection does) before typing.
        for section in Section.allCases where section != .title { try replicas[0].setSection(section, to: "") }

        var keystrokes = 0
        var documents = replicas.map(\.document)
        while documents[0].eventCount < targetEvents {
            // A burst of typing by one partner in one section, then maybe a sync.
            let who = Int.random(in: 0..<documents.count, using: &random)
            let text = texts[Int.random(in: 0..<texts.count, using: &random)]
            var position = Int.random(in: 0...documents[who].textLength(text), using: &random)
            for _ in 0..<Int.random(in: 20...200, using: &random) {
                if Int.random(in: 0..<10, using: &random) == 0, position > 0 {
                    // A correction: backspace a few characters.
                    let count = min(position, Int.random(in: 1...6, using: &random))
                    try documents[who].delete((position - count)..<position, in: text)
                    position -= count
                    keystrokes += count
                } else {
                    let word = Self.words[Int.random(in: 0..<Self.words.count, using: &random)] + " "
                    for scalar in word.unicodeScalars {
                        try documents[who].insert(String(scalar), at: position, in: text)
                        position += 1
                        keystrokes += 1
                    }
                }
            }
            if Int.random(in: 0..<8, using: &random) == 0 {
                for target in documents.indices {
                    for source in documents.indices where source != target {
                        try documents[target].merge(encodedChanges: documents[source].encodedChanges(since: documents[target].versionVector))
                    }
                }
            }
        }
        for source in documents.indices.dropFirst() {
            try documents[0].merge(encodedChanges: documents[source].encodedChanges(since: documents[0].versionVector))
        }
        var result = Proposal(document: documents[0], actor: aarhus)
        // Sparring: 40 comments with replies.
        let dates = Date(timeIntervalSince1970: 1_725_000_000)
        for index in 0..<40 {
            let section = Section.allCases[index % Section.allCases.count]
            let length = result.document.textLength(ProposalSchema.text(of: section))
            guard length > 10 else { continue }
            let start = Int.random(in: 0..<(length - 10), using: &random)
            let comment = try result.addComment(on: section, range: start..<start + 10, text: "Kan I uddybe dette?", at: dates)
            try result.reply(to: comment, text: "Ja, vi skriver mere.", at: dates)
        }
        proposal = result
        typedKeystrokes = keystrokes
    }
}

/// SplitMix64: a small, fast generator whose sequence is fixed by its seed (the
/// benchmarks' workloads are the same on every machine and run).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
