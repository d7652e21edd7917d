import SporTestSupport
import Testing
@testable import SporCRDT

/// Saving a text edited outside Spor: the new text becomes the few edits that produce
/// it, so that partners' concurrent edits elsewhere survive.
@Suite("Text diff")
struct TextDiffTests {
    static let words = ["klima", "spor", " ", " ", "kommune", "æøå", "🌱", "\n", "\n\n", "region", ",", "."]

    static func randomText(length: Int, using random: inout SeededRandom) -> String {
        var text = ""
        while text.unicodeScalars.count < length { text += words.randomElement(using: &random)! }
        return text
    }

    /// Applies replacements from the last to the first, as `Document.setText` does.
    static func apply(_ replacements: [TextDiff.Replacement], to text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        for replacement in replacements.reversed() {
            scalars.replaceSubrange(replacement.oldRange, with: replacement.replacement.unicodeScalars)
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    static func changedScalars(_ replacements: [TextDiff.Replacement]) -> Int {
        replacements.reduce(0) { $0 + $1.oldRange.count + $1.replacement.unicodeScalars.count }
    }

    @Test("one insertion or deletion of k characters becomes exactly k changed characters",
          arguments: propertySeeds(60, base: 0xD1FF))
    func singleEditIsMinimal(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let old = Self.randomText(length: Int.random(in: 0...400, using: &random), using: &random)
        var scalars = Array(old.unicodeScalars)
        let size: Int
        if !scalars.isEmpty, Bool.random(using: &random) {
            let start = Int.random(in: 0..<scalars.count, using: &random)
            size = Int.random(in: 1...min(30, scalars.count - start), using: &random)
            scalars.removeSubrange(start..<start + size)
        } else {
            let inserted = Array(Self.randomText(length: Int.random(in: 1...30, using: &random), using: &random).unicodeScalars)
            size = inserted.count
            scalars.insert(contentsOf: inserted, at: Int.random(in: 0...scalars.count, using: &random))
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let new = String(view)
        let replacements = TextDiff.replacements(from: old, to: new)
        #expect(Self.apply(replacements, to: old) == new, "seed \(seed)")
        #expect(Self.changedScalars(replacements) == size, "seed \(seed)")
    }

    @Test("many scattered edits: the result is the new text and untouched lines stay untouched",
          arguments: propertySeeds(40, base: 0xD1FF_0002))
    func scatteredEdits(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        // Distinct numbered lines, so that every line can be told apart.
        let lineCount = Int.random(in: 1...80, using: &random)
        var lines = (0..<lineCount).map { "linje \($0): " + Self.randomText(length: Int.random(in: 0...40, using: &random), using: &random)
            .replacingNewlines() }
        let old = lines.joined(separator: "\n")
        // At most one insertion per line: insertions close together on one line are
        // folded into a replacement on purpose (see the semantic clean-up test).
        let touched = Array((0..<lines.count).shuffled(using: &random).prefix(Int.random(in: 1...8, using: &random)))
        let insertions = touched.count
        for line in touched {
            var scalars = Array(lines[line].unicodeScalars)
            let at = Int.random(in: 0...scalars.count, using: &random)
            scalars.insert(contentsOf: "ÆNDRET".unicodeScalars, at: at)
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            lines[line] = String(view)
        }
        let new = lines.joined(separator: "\n")
        let replacements = TextDiff.replacements(from: old, to: new)
        #expect(Self.apply(replacements, to: old) == new, "seed \(seed)")
        // Only insertions were made: nothing of the old text is deleted.
        #expect(replacements.allSatisfy { $0.oldRange.isEmpty }, "seed \(seed)")
        #expect(Self.changedScalars(replacements) == 6 * insertions, "seed \(seed)")
    }

    @Test("a rewritten phrase is one replacement, not confetti of shared letters; separate lines stay separate edits")
    func semanticCleanup() {
        let old = "Skybrud oversvømmer kældre i tætte byområder.\nRisici: ingen.\n"
        let new = "Skybrud oversvømmer kældre og veje.\nRisici: ingen, dog vejret.\n"
        let replacements = TextDiff.replacements(from: old, to: new)
        #expect(Self.apply(replacements, to: old) == new)
        #expect(replacements.map(\.replacement) == ["og veje", ", dog vejret"])
        let oldScalars = Array(old.unicodeScalars)
        #expect(replacements.map { String(String.UnicodeScalarView(oldScalars[$0.oldRange])) } == ["i tætte byområder", ""])
    }

    @Test("completely different long texts fall back to one replacement")
    func boundedWork() {
        var random = SeededRandom(seed: 7)
        let old = (0..<5_000).map { "a\($0)" }.joined(separator: "\n")
        let new = (0..<5_000).map { _ in Self.randomText(length: 12, using: &random).replacingNewlines() }.joined(separator: "\n")
        let replacements = TextDiff.replacements(from: old, to: new)
        #expect(Self.apply(replacements, to: old) == new)
        #expect(replacements.count == 1)
    }

    @Test("a partner's concurrent edit survives a whole-text save from an editor")
    func concurrentEditSurvivesSetText() throws {
        var lead = Document(agent: try AgentID("aarhus"))
        try lead.insert("Udfordring: oversvømmelse.\n\nAktiviteter: workshops.\n\nRisici: ingen.\n", at: 0)
        var partner = Document(agent: try AgentID("odense"))
        try partner.merge(encodedChanges: lead.encodedChanges())

        // The partner types into the first paragraph...
        try partner.insert(" og tørke", at: "Udfordring: oversvømmelse".unicodeScalars.count)
        // ...while the lead saves the whole text from an editor, changing the last one.
        try lead.setText("Udfordring: oversvømmelse.\n\nAktiviteter: workshops.\n\nRisici: forsinkelser.\n")

        try lead.merge(encodedChanges: partner.encodedChanges())
        try partner.merge(encodedChanges: lead.encodedChanges())
        let expected = "Udfordring: oversvømmelse og tørke.\n\nAktiviteter: workshops.\n\nRisici: forsinkelser.\n"
        #expect(lead.text() == expected)
        #expect(partner.text() == expected)
    }

    @Test("saving an unchanged text makes no event; a save is one all-or-nothing change")
    func unchangedTextMakesNoEvent() throws {
        var document = Document(agent: try AgentID("aarhus"))
        try document.insert("abc\ndef\n", at: 0)
        let events = document.eventCount
        try document.setText("abc\ndef\n")
        #expect(document.eventCount == events)
        try document.setText("abX\ndef\nghi")
        #expect(document.text() == "abX\ndef\nghi")
        #expect(document.eventCount == events + 5)  // delete "c", insert "X", insert "ghi"
        var readOnly = Document()
        #expect(throws: CRDTError.self) { try readOnly.setText("x") }
        #expect(throws: CRDTError.self) { try document.setText("x", in: try ContainerID.root("m", .map)) }
    }

    @Test("batched anchor lookups agree with single ones", arguments: propertySeeds(10, base: 0xA2C4))
    func batchedAnchors(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var document = Document(agent: try AgentID("aarhus"))
        try document.insert(Self.randomText(length: 200, using: &random), at: 0)
        let positions = (0..<20).map { _ in Int.random(in: 0...document.textLength(), using: &random) }
        let anchors = try document.anchors(in: .text, at: positions)
        #expect(try positions.indices.allSatisfy { try anchors[$0] == document.anchor(in: .text, at: positions[$0]) })
        for _ in 0..<30 {
            let length = document.textLength()
            if length > 0, Bool.random(using: &random) {
                let start = Int.random(in: 0..<length, using: &random)
                try document.delete(start..<min(length, start + Int.random(in: 1...10, using: &random)))
            } else {
                try document.insert("xy", at: Int.random(in: 0...length, using: &random))
            }
        }
        let batched = try document.positions(of: anchors, in: .text)
        #expect(try anchors.indices.allSatisfy { try batched[$0] == document.position(of: anchors[$0], in: .text) })
        let unknown = Document.TextAnchor(character: EventID(agent: try AgentID("nobody"), seq: 0))
        #expect(throws: CRDTError.self) { try document.positions(of: [anchors[0], unknown], in: .text) }
    }
}

private extension String {
    func replacingNewlines() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\n" ? " " : $0 }))
    }
}
