/// Why a sync did not complete. Local work is never lost by one: everything not
/// acknowledged stays in the outbox for the next sync.
public struct SyncError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No connection to the server (offline, wrong address, server down, TLS
        /// certificate not trusted).
        case unreachable
        /// The server refused the token (wrong, or revoked by the secretariat).
        case authenticationFailed
        /// The token now belongs to another organisation than the workspace's.
        case wrongOrganisation
        /// The other end does not speak Spor's protocol (or another version of it).
        case incompatibleServer
        /// The connection broke and retrying did not help.
        case connectionLost
        /// The server sent nothing for too long.
        case timeout
    }

    public let code: Code
    public let message: String
    public let hint: String

    /// The message and hint in Danish, for a Danish user; nil where there is none
    /// (an internal failure whose text is the storage engine's).
    public let danishMessage: String?
    public let danishHint: String?

    public init(_ code: Code, _ message: String, hint: String = "", danish: String? = nil, danishHint: String? = nil) {
        self.danishMessage = danish
        self.danishHint = danishHint
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.isEmpty ? message : "\(message)\n\(hint)" }

    /// Whether trying again later may help (a watching sync keeps retrying these).
    public var isTransient: Bool {
        switch code {
        case .unreachable, .connectionLost, .timeout: true
        case .authenticationFailed, .wrongOrganisation, .incompatibleServer: false
        }
    }
}
