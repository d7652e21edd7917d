import SporCRDT

/// A participant's role in a proposal.
public enum ParticipantRole: String, CaseIterable, Hashable, Sendable {
    /// The lead partner (tovholder), who submits; a proposal has exactly one.
    case lead
    /// A partner organisation writing and carrying out the track.
    case partner
    /// Follows the track without being a partner; does not count towards the three
    /// municipalities/regions a track needs.
    case observer

    public var danishName: String {
        switch self {
        case .lead: "Tovholder"
        case .partner: "Partner"
        case .observer: "Observatør"
        }
    }

    public var englishName: String {
        switch self {
        case .lead: "Lead partner"
        case .partner: "Partner"
        case .observer: "Observer"
        }
    }

    /// Lead first, then partners, then observers.
    var rank: Int {
        switch self {
        case .lead: 0
        case .partner: 1
        case .observer: 2
        }
    }
}

/// Who a participant is: a municipality or region from the registry (by code), or
/// another kind of organisation by name.
public enum ParticipantOrganisation: Hashable, Sendable {
    /// A kind of participant that is not a municipality or region.
    public enum OtherKind: String, CaseIterable, Hashable, Sendable {
        case company
        case association
        case knowledgeInstitution
        case other

        public var danishName: String {
            switch self {
            case .company: "Virksomhed"
            case .association: "Forening"
            case .knowledgeInstitution: "Videninstitution"
            case .other: "Anden organisation"
            }
        }

        public var englishName: String {
            switch self {
            case .company: "Company"
            case .association: "Association"
            case .knowledgeInstitution: "Knowledge institution"
            case .other: "Other organisation"
            }
        }
    }

    case registered(Organisation)
    case other(name: String, kind: OtherKind)

    /// Whether this is a municipality or region (counts towards the three needed).
    public var isPublic: Bool {
        if case .registered = self { return true }
        return false
    }

    public var name: String {
        switch self {
        case let .registered(organisation): organisation.officialName
        case let .other(name, _): name
        }
    }

    public var danishKind: String {
        switch self {
        case let .registered(organisation): organisation.kind == .region ? "Region" : "Kommune"
        case let .other(_, kind): kind.danishName
        }
    }

    public var englishKind: String {
        switch self {
        case let .registered(organisation): organisation.kind == .region ? "Region" : "Municipality"
        case let .other(_, kind): kind.englishName
        }
    }

    /// The value stored under `organisation`: the code, or the name.
    var storedName: String {
        switch self {
        case let .registered(organisation): organisation.code
        case let .other(name, _): name
        }
    }

    /// The value stored under `kind`.
    var storedKind: String {
        switch self {
        case let .registered(organisation): organisation.kind == .region ? "region" : "municipality"
        case let .other(_, kind): kind.rawValue
        }
    }

    /// Reads what a user typed: a code or name from the registry, or — with `kind` —
    /// any other organisation's name. Throws `unknownOrganisation` for a code-like
    /// text (four digits) or a registry kind that matches no municipality or region,
    /// and `invalidValue` for an empty name.
    public init(parsing text: String, kind: OtherKind? = nil, field: String) throws(ProposalError) {
        let name = text.trimmingWhitespace()
        guard !name.isEmpty else {
            throw ProposalError(.invalidValue, field: field, "the organisation needs a code or a name", danish: "organisationen skal have en kode eller et navn")
        }
        guard name.unicodeScalars.count <= 200 else {
            throw ProposalError(.invalidValue, field: field, "an organisation name is at most 200 characters", danish: "et organisationsnavn er højst 200 tegn")
        }
        if let kind {
            if let organisation = Organisation.lookup(name) {
                throw ProposalError(.invalidValue, field: field,
                                    "\(organisation.officialName) is a \(organisation.kind == .region ? "region" : "municipality"), not a \(kind.rawValue)", danish: "\(organisation.officialName) er \(organisation.kind == .region ? "en region" : "en kommune"), ikke \(kind.rawValue)")
            }
            self = .other(name: name, kind: kind)
            return
        }
        if let organisation = Organisation.lookup(name) {
            self = .registered(organisation)
            return
        }
        let looksLikeCode = name.count == 4 && name.allSatisfy { $0.isASCII && $0.isNumber }
        throw ProposalError(.unknownOrganisation, field: field, looksLikeCode
            ? "\(name) is not the code of a Danish municipality or region"
            : "\(String(reflecting: name)) is not a Danish municipality or region; give its kind (company, association, knowledgeInstitution, other) to add it by name",
            danish: looksLikeCode
            ? "\(name) er ikke koden for en dansk kommune eller region"
            : "\(String(reflecting: name)) er ikke en dansk kommune eller region; angiv dens type (company, association, knowledgeInstitution, other) for at tilføje den ved navn")
    }
}

/// A participant as read from a proposal.
public struct Participant: Hashable, Sendable {
    /// The list item that holds it (stable across edits and merges).
    public let id: ListItemID
    /// nil if the stored organisation could not be read (see the proposal's problems).
    public let organisation: ParticipantOrganisation?
    public let role: ParticipantRole?
    public let contactName: String
    public let contactEmail: String
    /// Co-financing offered, in DKK.
    public let cofinancingCash: Int64
    /// Co-financing offered, in hours of staff time.
    public let cofinancingHours: Int64

    /// This participant with its role as the server's members have it: a member's
    /// role, and for an organisation that is no member the role it was listed with,
    /// except that only the server's lead member can be the lead (a listed "lead"
    /// that is not reads as a partner). So the content never names another lead than
    /// the server.
    func withRole(fromMembers members: [Member]) -> Participant {
        var role = role
        if let organisation, let member = members.first(where: { organisation.matches(serverID: $0.organisation) }) {
            role = member.role
        } else if role == .lead {
            role = .partner
        }
        return Participant(id: id, organisation: organisation, role: role, contactName: contactName, contactEmail: contactEmail,
                           cofinancingCash: cofinancingCash, cofinancingHours: cofinancingHours)
    }
}

extension ParticipantOrganisation {
    /// Whether the organisation with server id `id` is this one: a municipality or
    /// region by its code; another organisation by its name, compared without case.
    func matches(serverID id: String) -> Bool {
        switch self {
        case let .registered(organisation): organisation.code == id
        case let .other(name, _): name == id || name.lowercased() == id.lowercased()
        }
    }
}

/// What to write for a new participant or a change to one: nil fields stay as they are.
public struct ParticipantInput: Sendable {
    public var organisation: ParticipantOrganisation?
    public var role: ParticipantRole?
    public var contactName: String?
    public var contactEmail: String?
    public var cofinancingCash: Int64?
    public var cofinancingHours: Int64?

    public init(organisation: ParticipantOrganisation? = nil, role: ParticipantRole? = nil,
                contactName: String? = nil, contactEmail: String? = nil,
                cofinancingCash: Int64? = nil, cofinancingHours: Int64? = nil) {
        self.organisation = organisation
        self.role = role
        self.contactName = contactName
        self.contactEmail = contactEmail
        self.cofinancingCash = cofinancingCash
        self.cofinancingHours = cofinancingHours
    }
}
