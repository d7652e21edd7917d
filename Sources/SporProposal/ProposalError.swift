import SporCRDT

/// Why a proposal operation was refused: a stable code, the field concerned and a
/// message a user can act on. Nothing is changed when one is thrown.
public struct ProposalError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, extensible error code (its raw value appears in `--json` output).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// No field has that name.
        public static let unknownField = Code(rawValue: "unknownField")
        /// The value has the wrong type or form for the field.
        public static let invalidValue = Code(rawValue: "invalidValue")
        /// An amount that is not a whole number of kroner.
        public static let invalidAmount = Code(rawValue: "invalidAmount")
        /// An amount below zero.
        public static let negativeAmount = Code(rawValue: "negativeAmount")
        /// An organisation code that is not a Danish municipality or region.
        public static let unknownOrganisation = Code(rawValue: "unknownOrganisation")
        /// A date or time that does not exist or cannot be read.
        public static let invalidDate = Code(rawValue: "invalidDate")
        /// A date that belongs to no round.
        public static let dateOutsideRounds = Code(rawValue: "dateOutsideRounds")
        /// A round id the calendar does not have.
        public static let unknownRound = Code(rawValue: "unknownRound")
        /// A round whose deadlines are out of order or whose id is taken.
        public static let invalidRound = Code(rawValue: "invalidRound")
        /// The deadline for the step has passed.
        public static let deadlinePassed = Code(rawValue: "deadlinePassed")
        /// The step cannot be taken in the proposal's current status.
        public static let stepNotAllowed = Code(rawValue: "stepNotAllowed")
        /// The actor's role may not do this (e.g. record a decision).
        public static let notPermitted = Code(rawValue: "notPermitted")
        /// The organisation is a participant already, or the proposal has its one lead.
        public static let duplicateParticipant = Code(rawValue: "duplicateParticipant")
        /// No participant, budget line, milestone, comment or section with that id.
        public static let unknownItem = Code(rawValue: "unknownItem")
        /// Submission refused: the proposal does not meet the rules (see `findings`).
        public static let validationFailed = Code(rawValue: "validationFailed")
        /// The underlying document refused the change (see `underlying`).
        public static let document = Code(rawValue: "document")
    }

    public let code: Code
    /// The field concerned, as a path: "amountRequested", "participants[aarhus@3].role".
    public let field: String?
    public let message: String
    /// The message in Danish, for a Danish user (nil only for a document's own
    /// error, `document`, which is English).
    public let danishMessage: String?
    /// For `validationFailed`: the unmet requirements.
    public let findings: [Finding]
    /// For `document`: the document's own error.
    public let underlying: CRDTError?

    public init(_ code: Code, field: String?, _ message: String, danish: String? = nil, findings: [Finding] = [],
                underlying: CRDTError? = nil) {
        self.code = code
        self.field = field
        self.message = message
        danishMessage = danish
        self.findings = findings
        self.underlying = underlying
    }

    init(_ error: CRDTError, field: String? = nil) {
        self.init(.document, field: field, error.description, underlying: error)
    }

    public var description: String {
        if let field { return "\(field): \(message) [\(code)]" }
        return "\(message) [\(code)]"
    }
}

/// Runs a document operation, turning its error into a ``ProposalError`` for `field`.
func documentStep<T>(field: String? = nil, _ body: () throws(CRDTError) -> T) throws(ProposalError) -> T {
    do {
        return try body()
    } catch {
        throw ProposalError(error, field: field)
    }
}
