/// The error codes of the protocol (v2) (Protocol/SPEC.md, "Errors"). The numbers are part
/// of the protocol: never renumber, only add.
public enum WireErrorCode: UInt16, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    // Connection-level: the sender closes the connection after the ERROR frame.
    case malformedFrame = 1
    case frameTooLarge = 2
    case unsupportedVersion = 3
    case unauthenticated = 4
    case protocolViolation = 5
    case tooManyConnections = 6
    case idleTimeout = 7
    case slowConsumer = 8
    case shuttingDown = 9
    // Request-level: the request is refused, the connection stays open.
    case notFound = 20
    case alreadyExists = 21
    case forbidden = 22
    case invalidChanges = 23
    case missingDependencies = 24
    case batchTooLarge = 25
    case invalidArgument = 26
    case stepRefused = 27
    case tooManySubscriptions = 28
    case historyDiverged = 29
    case internalError = 30
    case limitExceeded = 31

    /// Whether the connection is closed after an ERROR frame with this code.
    public var closesConnection: Bool { rawValue < 20 }

    public var description: String {
        switch self {
        case .malformedFrame: "malformed frame"
        case .frameTooLarge: "frame too large"
        case .unsupportedVersion: "unsupported protocol version"
        case .unauthenticated: "not authenticated"
        case .protocolViolation: "protocol violation"
        case .tooManyConnections: "too many connections"
        case .idleTimeout: "idle timeout"
        case .slowConsumer: "slow consumer"
        case .shuttingDown: "server shutting down"
        case .notFound: "not found"
        case .alreadyExists: "already exists"
        case .forbidden: "forbidden"
        case .invalidChanges: "invalid changes"
        case .missingDependencies: "missing dependencies"
        case .batchTooLarge: "batch too large"
        case .invalidArgument: "invalid argument"
        case .stepRefused: "step refused"
        case .tooManySubscriptions: "too many subscriptions"
        case .historyDiverged: "history diverged"
        case .internalError: "internal error"
        case .limitExceeded: "limit exceeded"
        }
    }
}

/// A protocol error: bytes that are not a valid frame or message, or a refusal the
/// peer reported. `message` is for people; programs act on `code`.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: WireErrorCode
    public let message: String
    /// The connection closed in the middle of a frame: the bytes so far were valid,
    /// the rest never came (a broken network more often than a broken peer).
    public internal(set) var isTruncatedAtClose = false

    public init(_ code: WireErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code) (\(code.rawValue)): \(message)" }
}
