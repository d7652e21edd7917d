import Foundation

/// A step a proposal is submitted for, each with its own deadline in a round.
public enum Step: String, CaseIterable, Hashable, Sendable, Codable {
    /// Submission for professional qualification (faglig kvalificering).
    case qualification
    /// Submission for the approval process (godkendelsesforløb).
    case approval

    public var danishName: String {
        switch self {
        case .qualification: "aflevering til faglig kvalificering"
        case .approval: "aflevering til godkendelsesforløbet"
        }
    }

    public var englishName: String {
        switch self {
        case .qualification: "submission for professional qualification"
        case .approval: "submission for the approval process"
        }
    }
}

/// One application round: its deadlines in Copenhagen time and the day the executive
/// committee (Forretningsudvalget) decides.
///
/// Invariant (checked by ``RoundCalendar/add(_:)``): opens < qualification deadline <
/// approval deadline < committee meeting day, and every time exists in Copenhagen.
public struct Round: Hashable, Sendable, Codable, Identifiable {
    /// A stable id: "2024-spring".
    public let id: String
    public let danishName: String
    public let englishName: String
    /// When proposals may first target the round; nil: as soon as the previous
    /// round's approval deadline has passed (or always, for the first round).
    public let opens: LocalDateTime?
    public let qualificationDeadline: LocalDateTime
    public let approvalDeadline: LocalDateTime
    public let committeeMeeting: CalendarDate

    public init(id: String, danishName: String, englishName: String, opens: LocalDateTime? = nil,
                qualificationDeadline: LocalDateTime, approvalDeadline: LocalDateTime, committeeMeeting: CalendarDate) {
        self.id = id
        self.danishName = danishName
        self.englishName = englishName
        self.opens = opens
        self.qualificationDeadline = qualificationDeadline
        self.approvalDeadline = approvalDeadline
        self.committeeMeeting = committeeMeeting
    }

    /// The last moment to submit for `step` (Copenhagen wall-clock time).
    public func deadline(for step: Step) -> LocalDateTime {
        switch step {
        case .qualification: qualificationDeadline
        case .approval: approvalDeadline
        }
    }

    /// The instant of the deadline for `step`.
    public func deadlineInstant(for step: Step) throws(ProposalError) -> Date {
        try CopenhagenTime.instant(of: deadline(for: step), field: "rounds[\(id)].\(step.rawValue)Deadline")
    }

    /// When the committee meeting day starts.
    public func committeeMeetingInstant() throws(ProposalError) -> Date {
        try CopenhagenTime.startOfDay(committeeMeeting, field: "rounds[\(id)].committeeMeeting")
    }
}

/// The rounds a server or client knows: the built-in 2024 rounds from the call for
/// proposals, plus any the secretariat adds as data (e.g. from a JSON file) — later
/// rounds until the partnership ends in 2027 need no new code.
public struct RoundCalendar: Sendable {
    /// Sorted by approval deadline.
    public private(set) var rounds: [Round] = []

    /// An empty calendar.
    public init() {}

    /// A calendar of `rounds`, each checked as by ``add(_:)``.
    public init(_ rounds: [Round]) throws(ProposalError) {
        for round in rounds { try add(round) }
    }

    /// The 2024 spring and autumn rounds (Klimaalliancen's call for
    /// klimaudviklingsspor).
    public static let builtIn: RoundCalendar = {
        do {
            return try RoundCalendar([
                Round(id: "2024-spring", danishName: "Forår 2024", englishName: "Spring 2024",
                      qualificationDeadline: try LocalDateTime(CalendarDate(year: 2024, month: 4, day: 15), hour: 9),
                      approvalDeadline: try LocalDateTime(CalendarDate(year: 2024, month: 4, day: 25), hour: 9),
                      committeeMeeting: try CalendarDate(year: 2024, month: 5, day: 30)),
                Round(id: "2024-autumn", danishName: "Efterår 2024", englishName: "Autumn 2024",
                      qualificationDeadline: try LocalDateTime(CalendarDate(year: 2024, month: 10, day: 7), hour: 9),
                      approvalDeadline: try LocalDateTime(CalendarDate(year: 2024, month: 10, day: 24), hour: 9),
                      committeeMeeting: try CalendarDate(year: 2024, month: 11, day: 21)),
            ])
        } catch {
            preconditionFailure("the built-in rounds are invalid: \(error)")
        }
    }()

    /// Adds `round`. Throws `invalidRound` if its id is taken or empty, its dates are
    /// out of order, or a time does not exist in Copenhagen.
    public mutating func add(_ round: Round) throws(ProposalError) {
        let field = "rounds[\(round.id)]"
        guard !round.id.isEmpty, round.id.trimmingWhitespace() == round.id else {
            throw ProposalError(.invalidRound, field: field, "a round needs an id without surrounding spaces", danish: "en runde skal have et id uden mellemrum omkring")
        }
        guard !rounds.contains(where: { $0.id == round.id }) else {
            throw ProposalError(.invalidRound, field: field, "there is already a round \(round.id)", danish: "der er allerede en runde \(round.id)")
        }
        let qualification = try round.deadlineInstant(for: .qualification)
        let approval = try round.deadlineInstant(for: .approval)
        let meeting = try round.committeeMeetingInstant()
        if let opens = round.opens {
            guard try CopenhagenTime.instant(of: opens, field: field + ".opens") < qualification else {
                throw ProposalError(.invalidRound, field: field, "the round must open before its qualification deadline", danish: "runden skal åbne før fristen for faglig kvalificering")
            }
        }
        guard qualification < approval, approval < meeting else {
            throw ProposalError(.invalidRound, field: field,
                                "deadlines must come in order: qualification, then approval, then the committee meeting", danish: "fristerne skal komme i rækkefølge: kvalificering, så godkendelse, så forretningsudvalgets møde")
        }
        rounds.append(round)
        rounds.sort { $0.approvalDeadline < $1.approvalDeadline }
    }

    /// The round with id `id`; throws `unknownRound` naming `field`.
    public func round(id: String, field: String = "round") throws(ProposalError) -> Round {
        guard let round = rounds.first(where: { $0.id == id }) else {
            let known = rounds.map(\.id).joined(separator: ", ")
            throw ProposalError(.unknownRound, field: field, "there is no round \(String(reflecting: id)) (known: \(known))", danish: "der er ingen runde \(String(reflecting: id)) (kendte: \(known))")
        }
        return round
    }

    /// The round a proposal started at `instant` belongs to: the first whose approval
    /// deadline is still ahead and which has opened. Throws `dateOutsideRounds` if
    /// there is none (after the last round, or before a round's explicit opening).
    public func round(openAt instant: Date, field: String = "round") throws(ProposalError) -> Round {
        for round in rounds {
            guard instant < (try round.deadlineInstant(for: .approval)) else { continue }
            if let opens = round.opens, instant < (try CopenhagenTime.instant(of: opens)) { break }
            return round
        }
        let local = (try? CopenhagenTime.localTime(of: instant)).map(\.description) ?? "\(instant)"
        throw ProposalError(.dateOutsideRounds, field: field, "no round is open at \(local) Copenhagen time", danish: "ingen runde er åben \(local) (dansk tid)")
    }
}
