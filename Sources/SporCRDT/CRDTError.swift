/// The one error type of `SporCRDT`: every failure has a stable ``Code`` that callers
/// can switch on, a sentence a person can act on, and — for decoding — where in the
/// input the problem was found.
///
/// Nothing in this module traps on bad input: decoding untrusted bytes, merging a
/// peer's events or applying an edit at an impossible position all end in a
/// `CRDTError`, and the document the operation was applied to is left exactly as it
/// was before the call.
public struct CRDTError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, machine-readable reason. New codes may be added; match with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        // Edits and merges.
        /// A position or range lies outside the text it was applied to.
        public static let positionOutOfBounds = Code("position-out-of-bounds")
        /// An agent name is empty, too long or contains control characters.
        public static let invalidAgent = Code("invalid-agent")
        /// An event names a parent (or version) this replica does not have.
        public static let unknownParent = Code("unknown-parent")
        /// Events of one agent arrived with a gap in their sequence numbers.
        public static let sequenceGap = Code("sequence-gap")
        /// A container id is unknown or used with the wrong container kind.
        public static let unknownContainer = Code("unknown-container")
        /// The document has no local agent, so it cannot make edits.
        public static let readOnly = Code("read-only")
        /// A value is not acceptable (a non-finite number, an oversized string).
        public static let invalidValue = Code("invalid-value")
        /// A list item, map key or version does not exist where it is used.
        public static let unknownItem = Code("unknown-item")
        /// Two versions are not in the order the operation needs.
        public static let versionOrder = Code("version-order")
        /// The operation needs history a trimmed replica no longer keeps (a
        /// ``WindowedReplica``): rebuild it from the full history and try again.
        public static let historyTrimmed = Code("history-trimmed")

        // Decoding.
        /// The input ended before the structure it announced was complete.
        public static let truncated = Code("truncated")
        /// The input does not start with a Spor magic number of the expected kind.
        public static let badMagic = Code("bad-magic")
        /// The input was written by a newer, incompatible format version.
        public static let unsupportedVersion = Code("unsupported-version")
        /// The stored checksum does not match the bytes: the input was corrupted.
        public static let checksumMismatch = Code("checksum-mismatch")
        /// The bytes are well-framed but describe something impossible.
        public static let malformed = Code("malformed")
        /// Text content is not valid UTF-8.
        public static let invalidUTF8 = Code("invalid-utf8")
        /// The input declares sizes beyond the decoder's limits.
        public static let limitExceeded = Code("limit-exceeded")
        /// Compressed content could not be inflated.
        public static let compression = Code("compression")
    }

    public let code: Code
    /// What went wrong, in words a user or operator can act on.
    public let message: String
    /// Where it went wrong while decoding (section and byte offset), if applicable.
    public let context: String?

    init(_ code: Code, _ message: String, context: String? = nil) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String {
        if let context { return "\(code): \(message) (\(context))" }
        return "\(code): \(message)"
    }
}
