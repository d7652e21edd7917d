import Testing

/// Compares `actual` with a golden text line by line, so that a failure names the
/// first line that differs (and the line counts when one is a prefix of the other).
public func expectSameLines(_ actual: String, _ expected: String, _ name: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
    let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
    for (index, (got, wanted)) in zip(actualLines, expectedLines).enumerated() where got != wanted {
        Issue.record("\(name) line \(index + 1):\n  got:      \(got)\n  expected: \(wanted)", sourceLocation: sourceLocation)
        return
    }
    #expect(actualLines.count == expectedLines.count, "\(name): \(actualLines.count) lines, expected \(expectedLines.count)",
            sourceLocation: sourceLocation)
}
