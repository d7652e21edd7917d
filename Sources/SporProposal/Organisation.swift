/// A Danish municipality (kommune) or region, identified by its official code.
///
/// Municipality codes are four digits, zero-padded ("0101" København); region codes are
/// 1081–1085. The list is fixed reference data (``Organisation/all``); participants
/// that are not municipalities or regions are named instead (``ParticipantOrganisation``).
public struct Organisation: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case region
        case municipality = "kommune"
    }

    /// The official code: "0101", "1082".
    public let code: String
    /// The everyday name: "København", "Midtjylland".
    public let shortName: String
    /// The official name: "Københavns Kommune", "Region Midtjylland".
    public let officialName: String
    public let kind: Kind
    /// The region the organisation lies in (a region's is its own code).
    public let regionCode: String

    public var description: String { "\(officialName) (\(code))" }

    /// Every region and municipality, regions first, then municipalities by code.
    public static let all: [Organisation] = parseRegistry()

    private static let byCode: [String: Organisation] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// The organisation with official code `code`, or nil.
    public static func withCode(_ code: String) -> Organisation? { byCode[code] }

    /// The organisation a user means by `text`: its code, short name or official name
    /// (case-insensitive); nil if none or several match.
    public static func lookup(_ text: String) -> Organisation? {
        let wanted = text.trimmingWhitespace()
        if let organisation = byCode[wanted] { return organisation }
        let folded = wanted.lowercased()
        let matches = all.filter { $0.shortName.lowercased() == folded || $0.officialName.lowercased() == folded }
        // "Bornholm" is both a short name and the start of nothing else; a region and a
        // municipality never share a short name in the registry, but be safe.
        return matches.count == 1 ? matches[0] : nil
    }

    private static func parseRegistry() -> [Organisation] {
        registryCSV.split(separator: "\n").dropFirst().compactMap { line in
            let columns = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 5, let kind = Kind(rawValue: columns[3]) else { return nil }
            return Organisation(code: columns[0], shortName: columns[1], officialName: columns[2],
                                kind: kind, regionCode: columns[4])
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
