import Foundation
import SporProposal
import SporWire

/// What makes a new organisation's account valid, whichever store keeps it: checked
/// before the store looks for a taken name or code.
enum AccountRules {
    /// `name` trimmed and the account's code: the given one, or for a municipality or
    /// region the official code from the reference data. Throws `invalidArgument` for
    /// an empty or over-long name, a name with control characters, a code that is not
    /// a valid id, or a municipality/region that is not in the reference data with
    /// that kind and code.
    static func validated(name: String, kind: AccountKind, code: String?) throws -> (name: String, code: String?) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 200, !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ServerError(.invalidArgument, "organisation name must be 1-200 characters without control characters")
        }
        // No dot: an organisation's proposals have ids "<id>.<rest>", and with dots in
        // ids one organisation's namespace could contain another's.
        if let code, !(SporProtocol.isValidName(code) && code.utf8.count <= 32 && !code.contains(".")) {
            throw ServerError(.invalidArgument, "code \(String(reflecting: code)) must be 1-32 letters, digits, '-' or '_'")
        }
        var code = code
        if code == nil, kind == .kommune || kind == .region {
            // Municipalities and regions always carry their official code: it is their
            // id, and participants name them by it.
            guard let registered = Organisation.lookup(trimmed), registered.kind.rawValue == kind.rawValue else {
                throw ServerError(.invalidArgument, "\(String(reflecting: trimmed)) is not a \(kind.rawValue) in the reference data: "
                                  + "give its official name (\"Vejle Kommune\") or --code (0101-0860, regions 1081-1085)")
            }
            code = registered.code
        }
        if let code, kind == .kommune || kind == .region {
            guard let registered = Organisation.withCode(code), registered.kind.rawValue == kind.rawValue else {
                throw ServerError(.invalidArgument, "\(code) is not the code of a \(kind.rawValue) in the reference data "
                                  + "(municipalities 0101-0860, regions 1081-1085, as in organisations.csv)")
            }
        }
        return (trimmed, code)
    }

    /// The id of an account without a code: a slug of its name, or its kind.
    static func defaultID(name: String, kind: AccountKind) -> String {
        let slug = Account.slug(of: name)
        if !slug.isEmpty { return slug }
        return kind == .secretariat ? "secretariat" : kind.rawValue
    }

    static func nameTaken(_ name: String) -> ServerError {
        ServerError(.alreadyExists, "an organisation named \(String(reflecting: name)) already exists")
    }

    static func codeTaken(_ code: String) -> ServerError {
        ServerError(.alreadyExists, "an organisation with code \(code) already exists")
    }

    static func noAccount(_ id: String) -> ServerError {
        ServerError(.notFound, "no organisation with id \(String(reflecting: id))")
    }

    static func alreadyRevoked(_ id: String) -> ServerError {
        ServerError(.invalidArgument, "organisation \(id) is already revoked")
    }
}
