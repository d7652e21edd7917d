import SporCRDT
import SporTestSupport
import Testing

/// `setText(_:editedFrom:)`: saving a text edited outside Spor while partners' changes
/// were merged in.
@Suite("Saving an edit made on an older version")
struct EditedFromTests {
    static let alphabet = Array("abcæøå 🌊\n")

    static func randomText(_ length: Int, _ random: inout SeededRandom) -> String {
        String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
    }

    /// A random rewrite of `text`: a few replaced, deleted and inserted stretches.
    static func rewrite(_ text: String, _ random: inout SeededRandom) -> String {
        var characters = Array(text)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let start = Int.random(in: 0...characters.count, using: &random)
            let end = min(characters.count, start + Int.random(in: 0...6, using: &random))
            characters.replaceSubrange(start..<end, with: Array(randomText(Int.random(in: 0...6, using: &random), &random)))
        }
        return String(characters)
    }

    @Test("equals the editor's rewrite made on a fork at the base and merged with the partner's edits",
          arguments: propertySeeds(40, base: 0xED17_F0))
    func matchesForkAndMerge(seed: UInt64) throws {
        print("edited-from seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter EditedFromTests)")
        var random = SeededRandom(seed: seed)
        let editor = try AgentID("0751/editor"), partner = try AgentID("0461/partner")
        var base = Document(agent: try AgentID("0751/start"))
        try base.insert(Self.randomText(Int.random(in: 0...40, using: &random), &random), at: 0)
        let baseVersion = base.version
        let baseText = base.text()
        let edited = Self.rewrite(baseText, &random)

        // The partner's concurrent edits, a few batches of them.
        var partnerDocument = Document(agent: partner)
        _ = try partnerDocument.merge(encodedChanges: base.encodedChanges())
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            try partnerDocument.setText(Self.rewrite(partnerDocument.text(), &random))
        }
        let partnerChanges = try partnerDocument.encodedChanges()

        // Reference: the editor saves on a fork at the base; then the forks merge.
        var fork = Document(agent: editor)
        _ = try fork.merge(encodedChanges: base.encodedChanges())
        try fork.setText(edited)
        _ = try fork.merge(encodedChanges: partnerChanges)

        // What spor edit does: the partner's edits arrived while the editor was open.
        var live = Document(agent: editor)
        _ = try live.merge(encodedChanges: base.encodedChanges())
        _ = try live.merge(encodedChanges: partnerChanges)
        try live.setText(edited, editedFrom: baseVersion)

        #expect(live.text() == fork.text(), "seed \(seed)")
        #expect(live.version == fork.version, "seed \(seed)")
        // Nothing merged in was lost: with no edit by the editor, the text is the partner's.
        var unchanged = Document(agent: editor)
        _ = try unchanged.merge(encodedChanges: base.encodedChanges())
        _ = try unchanged.merge(encodedChanges: partnerChanges)
        try unchanged.setText(baseText, editedFrom: baseVersion)
        #expect(unchanged.text() == partnerDocument.text(), "seed \(seed)")
    }

    @Test("an unknown base version is refused, the document unchanged")
    func unknownVersion() throws {
        var document = Document(agent: try AgentID("a"))
        try document.insert("hej", at: 0)
        let before = document.encoded()
        let unknown = Version(heads: [EventID(agent: try AgentID("nobody"), seq: 3)])
        #expect(throws: CRDTError.self) { try document.setText("hallo", editedFrom: unknown) }
        #expect(document.encoded() == before)
    }
}
