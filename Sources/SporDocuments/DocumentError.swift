/// Why a document could not be made or read: typed, with a message for the user.
public struct DocumentError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The file is not a Word document Spor can read (not a zip, no
        /// word/document.xml, malformed XML, a DOCTYPE).
        case notADocument
        /// Past a bound: the file, a part of it or its number of parts.
        case tooLarge
        /// The document could not be assembled.
        case cannotWrite
    }

    public let code: Code
    public let message: String
    /// The same in Danish, for a Danish user.
    public let danishMessage: String

    public init(_ code: Code, _ message: String, danish: String) {
        self.code = code
        self.message = message
        danishMessage = danish
    }

    public var description: String { message }
}
