/// A local version (LV): the index of an event in this replica's history.
///
/// LVs are dense (`0..<eventCount`) and assigned in the order events become known, so
/// they are a topological order: every parent has a smaller LV than its children. They
/// are private to one replica; on the wire events are named by ``EventID``.
typealias LV = Int

/// A half-open run of local versions, `start..<end`.
struct LVRange: Hashable, Sendable, CustomStringConvertible {
    var start: LV
    var end: LV

    init(_ start: LV, _ end: LV) {
        self.start = start
        self.end = end
    }

    var count: Int { end - start }
    var isEmpty: Bool { end <= start }
    func contains(_ lv: LV) -> Bool { lv >= start && lv < end }

    var description: String { "\(start)..<\(end)" }
}
