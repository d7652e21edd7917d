import SporCRDT

extension ProposalSchema {
    /// Why a change batch may not be stored: the first write it makes that the
    /// writer is not allowed to make, nil if every write is allowed.
    ///
    /// - Containers under ``secretariatOnly`` are written only by the secretariat.
    /// - Append-only lists (``appendOnly``) only get new items: the list itself sees
    ///   only insertions, and containers beneath it are written only when their item
    ///   is created in the same batch (filling in a new submission). Nobody — the
    ///   secretariat included — rewrites a recorded submission.
    public static func writeViolation(in changes: ChangeSummary, bySecretariat: Bool) -> String? {
        for (container, kinds) in changes.operations.sorted(by: { $0.key < $1.key }) {
            if !bySecretariat && requiresSecretariat(container) {
                return "\(container) may only be written by the secretariat"
            }
            guard isAppendOnly(container) else { continue }
            if appendOnly.contains(container) {
                let disallowed = kinds.subtracting([.listInsert])
                if let kind = disallowed.sorted(by: { $0.rawValue < $1.rawValue }).first {
                    return "\(container) is append-only: \(kind.rawValue) is not allowed"
                }
            } else if let item = appendOnlyItem(of: container), !changes.contains(item) {
                return "\(container) belongs to a recorded item of an append-only list and cannot change"
            }
        }
        return nil
    }

    /// The item of the append-only list that `id` lies beneath.
    private static func appendOnlyItem(of id: ContainerID) -> EventID? {
        var current = id
        while let parent = current.parent {
            if appendOnly.contains(parent) { return current.listItem }
            current = parent
        }
        return nil
    }
}
