import Foundation

/// The kinds of organisation that have accounts on a Spor server.
public enum AccountKind: String, CaseIterable, Sendable, Codable {
    case kommune, region, company, association, institution, secretariat
}

/// An organisation's account: who a token belongs to.
///
/// `id` is the organisation's stable handle on the server and in the protocol: the
/// municipality or region code when there is one ("751"), otherwise a slug of the
/// name ("klimaalliancens-sekretariat"). Every agent an organisation writes events as
/// starts with ``agentPrefix``, which is how the server tells whose events are whose.
public struct Account: Sendable, Hashable, Codable {
    public let id: String
    public let name: String
    public let kind: AccountKind
    public let code: String?
    public let createdAt: Date
    public let revokedAt: Date?

    public var isSecretariat: Bool { kind == .secretariat }
    public var isRevoked: Bool { revokedAt != nil }
    public var agentPrefix: String { "\(id)/" }

    /// A slug of `name` usable as an id: lower-case ASCII letters, digits and
    /// dashes; æ, ø, å spelled ae, oe, aa.
    static func slug(of name: String) -> String {
        var slug = ""
        for character in name.lowercased() {
            switch character {
            case "æ": slug += "ae"
            case "ø": slug += "oe"
            case "å": slug += "aa"
            case "a"..."z", "0"..."9": slug.append(character)
            default:
                let folded = String(character).folding(options: .diacriticInsensitive, locale: nil)
                if folded.count == 1, let scalar = folded.unicodeScalars.first, scalar.isASCII,
                   CharacterSet.alphanumerics.contains(scalar) {
                    slug += folded
                } else if !slug.hasSuffix("-") && !slug.isEmpty {
                    slug += "-"
                }
            }
        }
        while slug.hasSuffix("-") { slug.removeLast() }
        return String(slug.prefix(48))
    }
}
