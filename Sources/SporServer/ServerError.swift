import SporWire

/// A refusal or failure of the server or its store, with the protocol error code it
/// is reported under and a message for people.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    public let code: WireErrorCode
    public let message: String

    public init(_ code: WireErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    var report: SporMessage.ErrorReport { SporMessage.ErrorReport(code: code, message: message) }
}
