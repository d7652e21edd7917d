import Crypto
import SporCRDT

/// Short names for versions, for people: `a3f9c2e1` rather than
/// `klimaalliancens-sekretariat/3reejwemz9@7, 0751/snt658qres@2372`.
///
/// The name is the first 8 hex digits of SHA-256 over the version's heads (sorted,
/// `agent@seq`, joined by ","), so every replica names the same version the same
/// way, offline, with nothing stored. 8 digits: among the few thousand versions a
/// proposal's log shows, two share a name with probability ≈ n²/2³³ (≈ 0.1 % at
/// 3,000); ``resolve(_:among:)`` refuses an ambiguous prefix instead of guessing.
public enum VersionName {
    public static let length = 8

    public static func short(_ version: Version) -> String {
        guard !version.heads.isEmpty else { return "0" }
        let text = version.heads.map(\.description).joined(separator: ",")
        let digest = SHA256.hash(data: Array(text.utf8))
        var out = ""
        for byte in digest.prefix(length / 2) {
            out += String(byte >> 4, radix: 16) + String(byte & 0x0F, radix: 16)
        }
        return out
    }

    /// Whether `text` looks like a short name (4 to 8 lowercase hex digits).
    public static func isShortName(_ text: String) -> Bool {
        (4...length).contains(text.count) && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    public enum Resolution: Equatable, Sendable {
        case found(Version)
        case none
        /// The prefix names more than one of the candidates.
        case ambiguous([Version])
    }

    /// The candidate whose short name starts with `prefix`. O(candidates).
    public static func resolve(_ prefix: String, among candidates: [Version]) -> Resolution {
        var matches: [Version] = []
        for candidate in candidates where short(candidate).hasPrefix(prefix) && !matches.contains(candidate) {
            matches.append(candidate)
        }
        switch matches.count {
        case 0: return .none
        case 1: return .found(matches[0])
        default: return .ambiguous(matches)
        }
    }
}
