import SporTestSupport
import Testing
@testable import SporCRDT

@Suite("TextRope")
struct TextRopeTests {
    /// Strings mixing ASCII, Danish letters and multi-byte emoji, so that byte and
    /// scalar positions differ.
    static let alphabet: [String] = ["a", "b", "Æ", "ø", "å", " ", "🌱", "\n", "Ærø Kommune 🌱", String(repeating: "x", count: 300)]

    @Test("random edits match a scalar-array model", arguments: propertySeeds(20, base: 0x5EED_0001))
    func randomEditsMatchModel(seed: UInt64) throws {
        print("TextRope seed \(seed)")
        var random = SeededRandom(seed: seed)
        var rope = TextRope()
        var model: [Unicode.Scalar] = []
        for step in 0..<1500 {
            let deleting = !model.isEmpty && Int.random(in: 0..<10, using: &random) < 4
            if deleting {
                let position = Int.random(in: 0..<model.count, using: &random)
                let count = Int.random(in: 1...min(model.count - position, Int.random(in: 1...2, using: &random) == 1 ? 3 : 400), using: &random)
                rope.delete(at: position, count: count)
                model.removeSubrange(position..<position + count)
            } else {
                let text = Self.alphabet.randomElement(using: &random)!
                let position = Int.random(in: 0...model.count, using: &random)
                var utf8 = Array(text.utf8)
                utf8.withUnsafeMutableBufferPointer { buffer in
                    rope.insert(utf8: UnsafeBufferPointer(buffer), scalars: text.unicodeScalars.count, at: position)
                }
                model.insert(contentsOf: text.unicodeScalars, at: position)
            }
            if step % 100 == 0 || step == 1499 {
                #expect(rope.checkInvariants() == nil, "seed \(seed) step \(step): \(rope.checkInvariants() ?? "")")
                var expected = ""
                expected.unicodeScalars.append(contentsOf: model)
                #expect(rope.string == expected, "seed \(seed) step \(step)")
                #expect(rope.scalarCount == model.count)
            }
        }
    }

    @Test("bulk-built rope reads back and edits like an empty one")
    func bulkBuild() {
        let text = String(repeating: "Ærø Kommune 🌱 klimahandlingsplan ", count: 400)
        var utf8 = Array(text.utf8)
        var rope = utf8.withUnsafeMutableBufferPointer { TextRope(utf8: UnsafeBufferPointer($0)) }
        #expect(rope.string == text)
        #expect(rope.scalarCount == text.unicodeScalars.count)
        #expect(rope.checkInvariants() == nil)
        rope.delete(at: 5, count: 10_000)
        var expected = Array(text.unicodeScalars)
        expected.removeSubrange(5..<10_005)
        var expectedString = ""
        expectedString.unicodeScalars.append(contentsOf: expected)
        #expect(rope.string == expectedString)
        #expect(rope.checkInvariants() == nil)
        #expect(rope.utf8(scalars: 2..<8) == Array(String(String.UnicodeScalarView(expected[2..<8])).utf8))
    }
}

@Suite("Control characters")
struct ControlCharacterTests {
    @Test("the byte-level check agrees with Unicode's general category Cc for every scalar up to U+0800 and a sample beyond")
    func agreesWithUnicode() {
        var scalars = (0...0x7FF).compactMap(Unicode.Scalar.init)
        scalars += [0x2028, 0x200B, 0xFEFF, 0xFFFD, 0x1F331, 0x10FFFF].compactMap(Unicode.Scalar.init)
        for scalar in scalars {
            let string = "a" + String(Character(scalar)) + "b"
            #expect(UTF8Scalars.containsControlCharacter(string) == (scalar.properties.generalCategory == .control),
                    "U+\(String(scalar.value, radix: 16))")
        }
    }
}
