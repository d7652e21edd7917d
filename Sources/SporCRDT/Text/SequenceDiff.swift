/// The shortest edit script between two sequences, by Myers' O((N+M)·D) algorithm
/// ("An O(ND) Difference Algorithm and Its Variations", 1986), with a bound on D.
///
/// Used to turn a whole new text (from an editor) into the few insertions and
/// deletions that produce it, so that concurrent edits elsewhere in the text survive
/// the merge. Memory is O(D²) for the trace, which is why D is bounded: past
/// `maxDifferences` the caller falls back to replacing the whole range.
struct SequenceDiff {
    /// Replace `old[oldRange]` by `new[newRange]`; hunks are sorted and disjoint.
    struct Hunk: Equatable {
        var oldRange: Range<Int>
        var newRange: Range<Int>
    }

    /// The hunks turning `old` into `new`, or nil if that takes more than
    /// `maxDifferences` single-element insertions and deletions.
    static func hunks<Element: Equatable>(
        from old: some RandomAccessCollection<Element>, to new: some RandomAccessCollection<Element>,
        maxDifferences: Int
    ) -> [Hunk]? {
        let a = Array(old), b = Array(new)
        let n = a.count, m = b.count
        if n == 0 && m == 0 { return [] }
        let limit = min(n + m, maxDifferences)
        let offset = limit + 1
        // v[offset + k]: the furthest x reached on diagonal k = x - y.
        var v = [Int](repeating: 0, count: 2 * limit + 3)
        // trace[d]: v for diagonals -d-1...d+1 before step d.
        var trace: [[Int]] = []
        var found = false
        search: for d in 0...limit {
            trace.append(Array(v[(offset - d - 1)...(offset + d + 1)]))
            for k in stride(from: -d, through: d, by: 2) {
                var x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                    ? v[offset + k + 1] : v[offset + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[x] == b[y] { x += 1; y += 1 }
                v[offset + k] = x
                if x >= n, y >= m { found = true; break search }
            }
        }
        guard found else { return nil }

        // Walk back from (n, m), collecting single-element edits in reverse.
        var hunks: [Hunk] = []
        func record(old: Int, new: Int, deletes: Bool) {
            let oldRange = deletes ? old..<old + 1 : old..<old
            let newRange = deletes ? new..<new : new..<new + 1
            if var last = hunks.last, last.oldRange.lowerBound == oldRange.upperBound,
               last.newRange.lowerBound == newRange.upperBound {
                last.oldRange = oldRange.lowerBound..<last.oldRange.upperBound
                last.newRange = newRange.lowerBound..<last.newRange.upperBound
                hunks[hunks.count - 1] = last
            } else {
                hunks.append(Hunk(oldRange: oldRange, newRange: newRange))
            }
        }
        var x = n, y = m
        for d in stride(from: trace.count - 1, to: 0, by: -1) {
            let saved = trace[d]
            func furthest(_ k: Int) -> Int { saved[k + d + 1] }
            let k = x - y
            let cameDown = k == -d || (k != d && furthest(k - 1) < furthest(k + 1))
            let previousK = cameDown ? k + 1 : k - 1
            let previousX = furthest(previousK)
            let previousY = previousX - previousK
            // The diagonal run after the edit.
            let afterEditX = cameDown ? previousX : previousX + 1
            while x > afterEditX { x -= 1; y -= 1 }
            if cameDown {
                record(old: previousX, new: previousY, deletes: false)
            } else {
                record(old: previousX, new: previousY, deletes: true)
            }
            x = previousX
            y = previousY
        }
        return hunks.reversed()
    }
}

/// Turns a new version of a text into edits of the old one: a line diff first, then a
/// character diff inside each changed block of lines, so that an edit touches only
/// what changed (and typing in one paragraph does not rewrite the others).
enum TextDiff {
    /// Above this many line insertions plus deletions the whole changed middle is
    /// replaced (O(D²) memory of the trace).
    static let maxLineDifferences = 2_000
    /// Changed blocks longer than this (in scalars, old plus new) are replaced whole.
    static let maxBlockScalars = 20_000
    static let maxScalarDifferences = 2_000

    /// A replacement of `oldRange` (scalar positions in the old text) by `replacement`.
    struct Replacement: Equatable {
        let oldRange: Range<Int>
        let replacement: String
    }

    /// The replacements, sorted and disjoint, that turn `old` into `new`. Applying
    /// them from the last to the first keeps every position valid.
    ///
    /// Complexity: O(N) for the common prefix and suffix, then O((L)·D_lines) on the
    /// lines of the middle and O(S·D) inside each changed block, with bounded D.
    static func replacements(from old: String, to new: String) -> [Replacement] {
        let a = Array(old.unicodeScalars), b = Array(new.unicodeScalars)
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix,
              a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let oldMiddle = a[prefix..<(a.count - suffix)], newMiddle = b[prefix..<(b.count - suffix)]
        if oldMiddle.isEmpty && newMiddle.isEmpty { return [] }

        // Lines of the middle (a line keeps its "\n"), as ids for the line diff.
        var ids: [String: Int] = [:]
        func lines(_ scalars: ArraySlice<Unicode.Scalar>) -> (ids: [Int], starts: [Int]) {
            var result: [Int] = [], starts: [Int] = []
            var start = scalars.startIndex
            func close(_ end: Int) {
                var line = String.UnicodeScalarView()
                line.append(contentsOf: scalars[start..<end])
                let key = String(line)
                let id = ids[key] ?? ids.count
                ids[key] = id
                result.append(id)
                starts.append(start)
                start = end
            }
            for index in scalars.indices where scalars[index] == "\n" { close(index + 1) }
            if start < scalars.endIndex { close(scalars.endIndex) }
            starts.append(scalars.endIndex)
            return (result, starts)
        }
        let oldLines = lines(oldMiddle), newLines = lines(newMiddle)

        func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            return String(view)
        }
        func whole(_ oldRange: Range<Int>, _ newRange: Range<Int>) -> Replacement {
            Replacement(oldRange: oldRange, replacement: string(b[newRange]))
        }

        guard let lineHunks = SequenceDiff.hunks(from: oldLines.ids, to: newLines.ids,
                                                 maxDifferences: maxLineDifferences) else {
            return [whole(oldMiddle.startIndex..<oldMiddle.endIndex, newMiddle.startIndex..<newMiddle.endIndex)]
        }
        var result: [Replacement] = []
        for hunk in lineHunks {
            let oldRange = oldLines.starts[hunk.oldRange.lowerBound]..<oldLines.starts[hunk.oldRange.upperBound]
            let newRange = newLines.starts[hunk.newRange.lowerBound]..<newLines.starts[hunk.newRange.upperBound]
            if oldRange.isEmpty || newRange.isEmpty || oldRange.count + newRange.count > maxBlockScalars {
                result.append(whole(oldRange, newRange))
                continue
            }
            guard let scalarHunks = SequenceDiff.hunks(from: a[oldRange], to: b[newRange],
                                                       maxDifferences: maxScalarDifferences) else {
                result.append(whole(oldRange, newRange))
                continue
            }
            let shifted = scalarHunks.map { inner in
                SequenceDiff.Hunk(
                    oldRange: (oldRange.lowerBound + inner.oldRange.lowerBound)..<(oldRange.lowerBound + inner.oldRange.upperBound),
                    newRange: (newRange.lowerBound + inner.newRange.lowerBound)..<(newRange.lowerBound + inner.newRange.upperBound))
            }
            for hunk in mergingShortEqualities(shifted, old: a) { result.append(whole(hunk.oldRange, hunk.newRange)) }
        }
        return result
    }

    /// Semantic clean-up of a character diff (after diff-match-patch's
    /// `diff_cleanupSemantic`): an unchanged stretch between two changes that is no
    /// longer than the larger side of the change before it and of the change after it
    /// is folded into one replacement. A minimal character diff of "i tætte byområder"
    /// against "og veje" keeps the shared spaces and "e"s and reads — and is
    /// attributed — as confetti; folded, it is one replacement, as a person would make
    /// it. Stretches containing a line break are never folded, so edits on different
    /// lines stay separate edits. A single change is returned as it is.
    static func mergingShortEqualities(_ hunks: [SequenceDiff.Hunk], old: [Unicode.Scalar]) -> [SequenceDiff.Hunk] {
        guard hunks.count > 1 else { return hunks }
        var merged = hunks
        var changed = true
        while changed {
            changed = false
            var index = 0
            while index + 1 < merged.count {
                let left = merged[index], right = merged[index + 1]
                let gap = left.oldRange.upperBound..<right.oldRange.lowerBound
                let leftSize = max(left.oldRange.count, left.newRange.count)
                let rightSize = max(right.oldRange.count, right.newRange.count)
                if gap.count <= leftSize, gap.count <= rightSize, !old[gap].contains("\n") {
                    merged[index] = SequenceDiff.Hunk(oldRange: left.oldRange.lowerBound..<right.oldRange.upperBound,
                                                      newRange: left.newRange.lowerBound..<right.newRange.upperBound)
                    merged.remove(at: index + 1)
                    changed = true
                } else {
                    index += 1
                }
            }
        }
        return merged
    }
}
