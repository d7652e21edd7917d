import Foundation
import SporCRDT

/// A proposal as read at one version: plain values, ready for rules and export.
///
/// Reading never drops what is stored: a value of the wrong type (written by another
/// implementation or an older client) is listed in ``unreadable``, and a field that
/// partners wrote concurrently with different values is listed in ``conflicts`` (the
/// deterministic winner is shown meanwhile).
public struct ProposalContent: Sendable, Equatable {
    /// The version read.
    public let version: Version
    /// The text of every section, in ``Section`` order.
    let sectionTexts: [String]
    public let amountRequested: Int64?
    public let roundID: String?
    public let participants: [Participant]
    public let budget: [BudgetLine]
    public let milestones: [Milestone]
    public let extraSections: [ExtraSection]
    public let comments: [Comment]
    public let submissions: [Submission]
    public let qualification: Qualification?
    public let decision: Decision?
    /// Every qualification result the server recorded, oldest first (the last is
    /// ``qualification``); empty for records made before protocol 2 kept them.
    public let qualificationHistory: [Qualification]
    /// Every decision the server recorded, oldest first (the last is ``decision``).
    public let decisionHistory: [Decision]
    public let withdrawal: Withdrawal?
    /// The organisations that are members on the server, with their roles, lead
    /// first: written by the server only. Empty for a proposal that has never
    /// been on a server (or was made by a server before protocol 2).
    public let members: [Member]
    public let conflicts: [FieldConflict]
    public let unreadable: [UnreadableValue]
    /// The names members gave versions (``Proposal/namedVersions()``), sorted. Not
    /// part of the content hash: naming a version does not change the proposal.
    public let versionNames: [String]

    public func text(_ section: Section) -> String { sectionTexts[section.rank] }
    public var title: String { text(.title) }

    /// The lead partner's organisation (its server id or stored name): the server's
    /// lead member once the server has recorded members, else the participant listed
    /// as lead (a proposal not yet on a server, or one made before protocol 2).
    public var lead: String? {
        if let member = members.first(where: { $0.role == .lead }) { return member.organisation }
        return participants.first { $0.role == .lead }?.organisation?.storedName
    }

    /// The role `organisation` (a server id) has as a member, nil if it is none.
    public func memberRole(of organisation: String) -> ParticipantRole? {
        members.first { $0.organisation == organisation }?.role
    }
}

/// An organisation with access to a proposal on the server, and its role there.
public struct Member: Hashable, Sendable {
    /// The organisation's server id (a municipality's or region's code, or the id
    /// the secretariat gave it).
    public let organisation: String
    public let role: ParticipantRole

    public init(organisation: String, role: ParticipantRole) {
        self.organisation = organisation
        self.role = role
    }
}

/// A field whose concurrent writes disagree, until someone writes it again.
public struct FieldConflict: Hashable, Sendable {
    public struct Candidate: Hashable, Sendable {
        public let value: String
        public let author: AgentID
    }

    public let field: String
    /// The winner (shown meanwhile) first.
    public let candidates: [Candidate]
}

/// A stored value that does not fit its field.
public struct UnreadableValue: Hashable, Sendable {
    public let field: String
    /// The stored value, as text.
    public let stored: String
    /// What the field needs.
    public let expected: String
}

/// What content is read from: the current document or a view of a past version.
protocol ProposalSource {
    func text(_ id: ContainerID) throws(CRDTError) -> String
    func mapEntry(_ key: String, in map: ContainerID) throws(CRDTError) -> RegisterValue
    func map(_ id: ContainerID) throws(CRDTError) -> [(key: String, value: RegisterValue)]
    func list(_ id: ContainerID) throws(CRDTError) -> [Document.ListItem]
    var version: Version { get }
}

extension Document: ProposalSource {}
extension DocumentView: ProposalSource {}

/// Reads typed fields, collecting conflicts and unreadable values on the way.
struct ContentReader<Source: ProposalSource> {
    let source: Source
    var conflicts: [FieldConflict] = []
    var unreadable: [UnreadableValue] = []

    init(_ source: Source) { self.source = source }

    mutating func value(_ key: String, in map: ContainerID, field: @autoclosure () -> String) throws(CRDTError) -> Value? {
        let register = try source.mapEntry(key, in: map)
        if register.isConflict {
            conflicts.append(FieldConflict(field: field(), candidates: register.writes.map {
                FieldConflict.Candidate(value: $0.value.displayText, author: $0.author.agent)
            }))
        }
        return register.value
    }

    private mutating func unreadable(_ value: Value, field: @autoclosure () -> String, expected: String) {
        unreadable.append(UnreadableValue(field: field(), stored: value.description, expected: expected))
    }

    mutating func string(_ key: String, in map: ContainerID, field: @autoclosure () -> String) throws(CRDTError) -> String? {
        switch try value(key, in: map, field: field()) {
        case nil, .null?: return nil
        case let .string(text)?: return text
        case let other?: unreadable(other, field: field(), expected: "text"); return nil
        }
    }

    mutating func int(_ key: String, in map: ContainerID, field: @autoclosure () -> String, allowNegative: Bool = false) throws(CRDTError) -> Int64? {
        switch try value(key, in: map, field: field()) {
        case nil, .null?: return nil
        case let .int(number)? where allowNegative || number >= 0: return number
        case let other?: unreadable(other, field: field(), expected: allowNegative ? "a whole number" : "a whole number, not negative"); return nil
        }
    }

    mutating func bool(_ key: String, in map: ContainerID, field: @autoclosure () -> String) throws(CRDTError) -> Bool? {
        switch try value(key, in: map, field: field()) {
        case nil, .null?: return nil
        case let .bool(flag)?: return flag
        case let other?: unreadable(other, field: field(), expected: "true or false"); return nil
        }
    }

    mutating func date(_ key: String, in map: ContainerID, field: @autoclosure () -> String) throws(CRDTError) -> Date? {
        try int(key, in: map, field: field()).map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String, in map: ContainerID, field: @autoclosure () -> String, as _: Choice.Type
    ) throws(CRDTError) -> Choice? where Choice.RawValue == String {
        let stored = try value(key, in: map, field: field())
        switch stored {
        case nil, .null?: return nil
        case let .string(text)?:
            if let choice = Choice(rawValue: text) { return choice }
            fallthrough
        default:
            let options = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            if let stored { unreadable(stored, field: field(), expected: "one of \(options)") }
            return nil
        }
    }

    /// The child maps of the items of `list`, with the field path of each. An item that
    /// is not a map is reported as unreadable.
    mutating func itemMaps(_ list: ContainerID, name: String) throws(CRDTError) -> [(id: ListItemID, map: ContainerID, field: String)] {
        var result: [(id: ListItemID, map: ContainerID, field: String)] = []
        for item in try source.list(list) {
            let field = "\(name)[\(item.id)]"
            guard item.value == .child(.map) else {
                unreadable(item.value, field: field, expected: "an entry (a map)")
                continue
            }
            result.append((item.id, try list.child(item.id, .map), field))
        }
        return result
    }
}

extension Value {
    /// The value as a user would read it.
    var displayText: String {
        switch self {
        case let .string(text): text
        default: description
        }
    }
}
