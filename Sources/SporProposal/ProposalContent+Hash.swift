import Crypto

extension ProposalContent {
    /// SHA-256 of the proposal's canonical content, in lowercase hex: what a submission
    /// certifies. Covers every section, extra section, the amount, the round,
    /// participants, budget lines and milestones in order — not comments, submissions,
    /// the secretariat's records or who wrote what.
    ///
    /// The canonical form is a sequence of fields, each a one-byte tag, a 4-byte
    /// big-endian length and the UTF-8 bytes; it must never change, or recorded
    /// submissions stop verifying.
    public var contentHash: String {
        var canonical = CanonicalBytes()
        canonical.field("spor-proposal-v1")
        for section in Section.allCases {
            canonical.field(section.key)
            canonical.field(text(section))
        }
        canonical.field(amountRequested.map(String.init) ?? "")
        canonical.field(roundID ?? "")
        for participant in participants {
            canonical.field("participant")
            canonical.field(participant.organisation?.storedName ?? "")
            canonical.field(participant.organisation?.storedKind ?? "")
            canonical.field(participant.role?.rawValue ?? "")
            canonical.field(participant.contactName)
            canonical.field(participant.contactEmail)
            canonical.field(String(participant.cofinancingCash))
            canonical.field(String(participant.cofinancingHours))
        }
        for line in budget {
            canonical.field("budget")
            canonical.field(line.item)
            canonical.field(line.amount.map(String.init) ?? "")
            canonical.field(line.source?.rawValue ?? "")
            canonical.field(line.year.map(String.init) ?? "")
        }
        for milestone in milestones {
            canonical.field("milestone")
            canonical.field(milestone.title)
            canonical.field(milestone.date?.description ?? "")
        }
        for extra in extraSections {
            canonical.field("extraSection")
            canonical.field(extra.heading)
            canonical.field(extra.body)
        }
        let digest = SHA256.hash(data: canonical.bytes)
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// Length-prefixed fields, so that no two different contents share bytes.
private struct CanonicalBytes {
    var bytes: [UInt8] = []

    mutating func field(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes.append(0x01)
        let count = UInt32(truncatingIfNeeded: utf8.count)
        bytes.append(contentsOf: [UInt8(count >> 24), UInt8(truncatingIfNeeded: count >> 16),
                                  UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)])
        bytes.append(contentsOf: utf8)
    }
}
