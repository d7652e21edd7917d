/// Why a workspace operation failed, with what the user can do about it.
///
/// Every failure leaves the workspace as it was before the call: a change is either
/// committed whole or not at all.
public struct WorkspaceError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// `spor setup` has not been run for this workspace.
        case notSetUp
        /// The workspace file is not a readable Spor workspace (damaged, truncated,
        /// not SQLite). It is never written to.
        case damaged
        /// Written by a newer version of Spor.
        case tooNew
        /// Another process holds the workspace longer than the wait allows.
        case busy
        /// The disk is full or the file cannot be written; nothing was saved.
        case cannotWrite
        /// No proposal with that id (or id prefix) in the workspace.
        case unknownProposal
        /// An id prefix that matches several proposals.
        case ambiguousProposal
        /// Another `spor sync` is already running on this workspace.
        case syncRunning
        /// Any other storage failure.
        case storage
    }

    public let code: Code
    public let message: String
    /// What to do about it, for people (may be empty).
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
}
