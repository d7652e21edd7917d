import SporCRDT

/// Where the money for a budget line comes from.
public enum FundingSource: String, CaseIterable, Hashable, Sendable {
    /// Requested from Klimaalliancen: these lines add up to the amount requested.
    case klimaalliancen
    /// The participants' own co-financing (medfinansiering).
    case own
    /// Other funding (foundations, EU, ...).
    case other

    public var danishName: String {
        switch self {
        case .klimaalliancen: "Klimaalliancen"
        case .own: "Egen medfinansiering"
        case .other: "Anden finansiering"
        }
    }

    public var englishName: String {
        switch self {
        case .klimaalliancen: "Klimaalliancen"
        case .own: "Own co-financing"
        case .other: "Other funding"
        }
    }
}

/// One line of a proposal's budget, as read.
public struct BudgetLine: Hashable, Sendable {
    public let id: ListItemID
    public let item: String
    /// DKK; nil if missing or unreadable (reported by validation).
    public let amount: Int64?
    public let source: FundingSource?
    public let year: Int?
}

/// What to write for a new budget line or a change to one: nil fields stay as they are.
public struct BudgetLineInput: Sendable {
    public var item: String?
    public var amount: Int64?
    public var source: FundingSource?
    public var year: Int?

    public init(item: String? = nil, amount: Int64? = nil, source: FundingSource? = nil, year: Int? = nil) {
        self.item = item
        self.amount = amount
        self.source = source
        self.year = year
    }
}

/// A dated milestone of the activities' timeline.
public struct Milestone: Hashable, Sendable {
    public let id: ListItemID
    public let title: String
    /// nil if missing or unreadable (reported by validation).
    public let date: CalendarDate?
}

/// A section beyond the call's standard ones (an appendix, a detailed plan), with a
/// heading and a collaborative body text.
public struct ExtraSection: Hashable, Sendable {
    public let id: ListItemID
    public let heading: String
    public let body: String
}
