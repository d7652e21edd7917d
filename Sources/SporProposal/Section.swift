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

    /// The position in the call's order.
    var rank: Int { Self.allCases.firstIndex(of: self) ?? Self.allCases.count }

    public static func < (lhs: Section, rhs: Section) -> Bool { lhs.rank < rhs.rank }
}
