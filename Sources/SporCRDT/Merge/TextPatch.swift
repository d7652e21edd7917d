/// One change to a text's current content, produced by replaying history: what a
/// remote or out-of-order event turns into once transformed to the current version.
enum TextPatch: Equatable, Sendable {
    /// Insert the scalars stored at `contentStart..<contentStart+byteCount` of the
    /// text's history content at scalar `position`.
    case insert(position: Int, contentStart: Int, byteCount: Int, scalars: Int)
    /// Delete `count` scalars from scalar `position`.
    case delete(position: Int, count: Int)
}

extension Array where Element == TextPatch {
    /// Appends `patch`, merging it into the last patch when one continues the other.
    mutating func appendCoalescing(_ patch: TextPatch) {
        if let last = self.last {
            switch (last, patch) {
            case let (.insert(p1, c1, b1, s1), .insert(p2, c2, b2, s2)) where p2 == p1 + s1 && c2 == c1 + b1:
                self[count - 1] = .insert(position: p1, contentStart: c1, byteCount: b1 + b2, scalars: s1 + s2)
                return
            case let (.delete(p1, n1), .delete(p2, n2)) where p2 == p1:
                self[count - 1] = .delete(position: p1, count: n1 + n2)
                return
            case let (.delete(p1, n1), .delete(p2, n2)) where p2 + n2 == p1:
                self[count - 1] = .delete(position: p2, count: n1 + n2)
                return
            default:
                break
            }
        }
        append(patch)
    }
}
