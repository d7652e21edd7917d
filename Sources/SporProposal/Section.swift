/// The text sections of a klimaudviklingsspor proposal, in the order the call for
/// proposals asks for them. Each is a collaborative text (a child text of the
/// proposal map under ``key``).
public enum Section: String, CaseIterable, Hashable, Sendable, Comparable {
    case title
    case summary
    case challenge
    case climatePlanLink
    case developmentElement
    case notKnownSolution
    case activities
    case organisation
    case expectedResults
    case climateEffect
    case knowledgeSharing
    case anchoring
    case risks
    case cofinancing

    /// The map key and field name: the raw value ("developmentElement").
    public var key: String { rawValue }

    /// Whether the rules require the section to be filled in.
    public var isRequired: Bool {
        switch self {
        case .title, .summary, .challenge, .climatePlanLink, .developmentElement, .notKnownSolution, .knowledgeSharing: true
        default: false
        }
    }

    public var danishTitle: String {
        switch self {
        case .title: "Titel"
        case .summary: "Kort resumé"
        case .challenge: "Udfordringen"
        case .climatePlanLink: "Kobling til klimahandlingsplaner"
        case .developmentElement: "Udviklings-, test- eller demonstrationselement"
        case .notKnownSolution: "Hvorfor det ikke er implementering af en kendt løsning"
        case .activities: "Aktiviteter og tidsplan"
        case .organisation: "Organisering"
        case .expectedResults: "Forventede resultater"
        case .climateEffect: "Klimaeffekt"
        case .knowledgeSharing: "Videndeling til alle kommuner og regioner"
        case .anchoring: "Forankring"
        case .risks: "Risici"
        case .cofinancing: "Medfinansiering"
        }
    }

    public var englishTitle: String {
        switch self {
        case .title: "Title"
        case .summary: "Short summary"
        case .challenge: "The challenge"
        case .climatePlanLink: "Link to the climate action plans"
        case .developmentElement: "Development, test or demonstration element"
        case .notKnownSolution: "Why this is not implementation of a known solution"
        case .activities: "Activities and timeline"
        case .organisation: "Organisation"
        case .expectedResults: "Expected results"
        case .climateEffect: "Climate effect"
        case .knowledgeSharing: "Knowledge sharing with all municipalities and regions"
        case .anchoring: "Anchoring"
        case .risks: "Risks"
        case .cofinancing: "Co-financing"
        }
    }

    /// The name a Danish user types for the section ("udfordring"); accepted wherever a
    /// section is named, beside ``key``.
    public var danishKey: String {
        switch self {
        case .title: "titel"
        case .summary: "resumé"
        case .challenge: "udfordring"
        case .climatePlanLink: "klimaplan"
        case .developmentElement: "udviklingselement"
        case .notKnownSolution: "ikke-kendt-løsning"
        case .activities: "aktiviteter"
        case .organisation: "organisering"
        case .expectedResults: "resultater"
        case .climateEffect: "klimaeffekt"
        case .knowledgeSharing: "videndeling"
        case .anchoring: "forankring"
        case .risks: "risici"
        case .cofinancing: "medfinansiering"
        }
    }

    /// Other names people use: a few Danish words the call itself uses.
    private var aliases: [String] {
        switch self {
        case .summary: ["resume", "kort-resumé", "sammenfatning"]
        case .challenge: ["udfordringen"]
        case .climatePlanLink: ["klimahandlingsplan", "klimaplaner", "kobling"]
        case .developmentElement: ["udvikling", "demonstration"]
        case .notKnownSolution: ["kendt-løsning", "ny-løsning", "nyhedsværdi"]
        case .activities: ["tidsplan"]
        case .expectedResults: ["forventede-resultater"]
        case .anchoring: ["implementering"]
        case .risks: ["risiko"]
        case .cofinancing: ["egenfinansiering"]
        default: []
        }
    }

    /// The section `name` names: its key or Danish key, or an alias, in any case, with
    /// or without dashes and spaces, and with æ, ø, å also written ae, oe, aa (or e, o,
    /// a). nil if none does.
    public static func named(_ name: String) -> Section? {
        let wanted = folded(name, plain: false)
        guard !wanted.isEmpty else { return nil }
        return allCases.first { section in
            ([section.key, section.danishKey] + section.aliases).contains {
                folded($0, plain: false) == wanted || folded($0, plain: true) == wanted
            }
        }
    }

    /// The section whose Danish or English title `heading` is (a heading of an
    /// exported document: "Udfordringen", "Risks"), in any case and spacing; nil if
    /// none is.
    public static func titled(_ heading: String) -> Section? {
        let wanted = folded(heading, plain: false)
        guard !wanted.isEmpty else { return nil }
        return allCases.first { folded($0.danishTitle, plain: false) == wanted || folded($0.englishTitle, plain: false) == wanted }
    }

    /// Lower case, without dashes, spaces and underscores; æ, ø, å spelled ae, oe, aa
    /// — or, `plain`, a, o, a (typed on a keyboard without them) — and é as e.
    private static func folded(_ name: String, plain: Bool) -> String {
        var result = ""
        for character in name.lowercased() {
            switch character {
            case "æ": result += plain ? "a" : "ae"
            case "ø": result += plain ? "o" : "oe"
            case "å": result += plain ? "a" : "aa"
            case "é": result += "e"
            case "-", " ", "_": continue
            default: result.append(character)
            }
        }
        return result
    }

    /// The position in the call's order.
    var rank: Int { Self.allCases.firstIndex(of: self) ?? Self.allCases.count }

    public static func < (lhs: Section, rhs: Section) -> Bool { lhs.rank < rhs.rank }
}
