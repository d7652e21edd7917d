import Foundation
import SporDocuments
import SporTestSupport
import Testing

/// `SporJSON`: JSONEncoder's output in the form `spor --json` has always printed.
@Suite("JSON as spor prints it")
struct SporJSONTests {
    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try SporJSON.encode(value), as: UTF8.self)
    }

    struct Containers: Encodable {
        let a: [Int]
        let b: [String: Int]
        let c: [[Int]]
        let d: [String: [String]]
    }

    @Test("empty arrays and objects are [] and {}, at any depth; keys sorted; \" : \" between key and value")
    func emptyContainers() throws {
        let value = Containers(a: [], b: [:], c: [[], [1]], d: ["x": [], "w": ["v"]])
        #expect(try Self.text(value) == """
            {
              "a" : [],
              "b" : {},
              "c" : [
                [],
                [
                  1
                ]
              ],
              "d" : {
                "w" : [
                  "v"
                ],
                "x" : []
              }
            }
            """)
    }

    struct Optionals: Encodable {
        @Nullable var always: String?
        var sometimes: String?
        let list: [Int?]
    }

    @Test("@Nullable writes null when absent; a plain optional is left out; nil in a list is null")
    func nullable() throws {
        #expect(try Self.text(Optionals(always: nil, sometimes: nil, list: [1, nil])) == """
            {
              "always" : null,
              "list" : [
                1,
                null
              ]
            }
            """)
        #expect(try Self.text(Optionals(always: "a", sometimes: "b", list: [])) == """
            {
              "always" : "a",
              "list" : [],
              "sometimes" : "b"
            }
            """)
    }

    struct Text: Encodable { let s: String }

    /// A string as RFC 8259 allows and spor writes it: `"` and `\` escaped, newline,
    /// carriage return and tab as `\n` `\r` `\t`, every other control character as
    /// `\u00xx` (lowercase hex), everything else (slash and non-ASCII included) as is.
    static func expectedString(_ string: String) -> String {
        var out = ""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u00" + (hex.count == 1 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    @Test("every control character, quotes, backslash, slash and non-ASCII text are escaped exactly as spor always has")
    func escaping() throws {
        let controls = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        for string in [controls, "\"quoted\" \\ back\\slash / http://x/y", "æøå Å 😀 \u{2028} \u{7F}", "\\b\\f \u{8}\u{C}", ""] {
            #expect(try Self.text(Text(s: string)) == "{\n  \"s\" : \"\(Self.expectedString(string))\"\n}", "\(string.debugDescription)")
        }
    }

    /// A JSON value for the property test.
    indirect enum Value: Codable, Equatable {
        case string(String), int(Int64), bool(Bool), array([Value]), object([String: Value])

        func encode(to encoder: any Encoder) throws {
            var single = encoder.singleValueContainer()
            switch self {
            case let .string(value): try single.encode(value)
            case let .int(value): try single.encode(value)
            case let .bool(value): try single.encode(value)
            case let .array(values): try single.encode(values)
            case let .object(values): try single.encode(values)
            }
        }

        /// Read back by JSONDecoder (an independent reader: it tells booleans from numbers).
        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let value = try? single.decode(Bool.self) { self = .bool(value) }
            else if let value = try? single.decode(Int64.self) { self = .int(value) }
            else if let value = try? single.decode(String.self) { self = .string(value) }
            else if let values = try? single.decode([Value].self) { self = .array(values) }
            else { self = .object(try single.decode([String: Value].self)) }
        }

        static func random(depth: Int, _ random: inout SeededRandom) -> Value {
            let alphabet: [Unicode.Scalar] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{8}", "\u{C}", "\u{1F}", "æ", "ø", "😀", "[", "]", "{", "}", ":", ","]
            func text() -> String {
                String(String.UnicodeScalarView((0..<Int.random(in: 0...6, using: &random)).map { _ in alphabet.randomElement(using: &random) ?? "a" }))
            }
            switch Int.random(in: 0..<(depth > 0 ? 5 : 3), using: &random) {
            case 0: return .string(text())
            case 1: return .int(Int64.random(in: Int64.min...Int64.max, using: &random))
            case 2: return .bool(Bool.random(using: &random))
            case 3: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in Value.random(depth: depth - 1, &random) })
            default:
                var object: [String: Value] = [:]
                for _ in 0..<Int.random(in: 0...3, using: &random) { object[text()] = Value.random(depth: depth - 1, &random) }
                return .object(object)
            }
        }
    }

    @Test("random nested values: read back equal, no blank line, no \\b or \\f, indentation by two", arguments: propertySeeds(20, base: 0x7150))
    func randomValues(seed: UInt64) throws {
        print("SporJSON seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter SporJSONTests)")
        var random = SeededRandom(seed: seed)
        for _ in 0..<50 {
            let value = Value.random(depth: 4, &random)
            let bytes = try SporJSON.encode(value)
            #expect(try JSONDecoder().decode(Value.self, from: Data(bytes)) == value, "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("\n\n"), "seed \(seed): a blank line in \(text)")
            // Outside strings (which escape every newline), each line is indented by an even count.
            let oddlyIndented = text.split(separator: "\n").filter { $0.prefix { $0 == " " }.count % 2 != 0 }
            #expect(oddlyIndented.isEmpty, "seed \(seed): \(oddlyIndented)")
            // The escapes written, scanned pairwise (a literal backslash is itself an escape).
            var escapes: Set<Character> = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(after: index)
                if text[index] == "\\", next < text.endIndex {
                    escapes.insert(text[next])
                    index = text.index(after: next)
                } else {
                    index = next
                }
            }
            #expect(escapes.isSubset(of: ["\"", "\\", "n", "r", "t", "u"]), "seed \(seed): escapes \(escapes.sorted())")
        }
    }
}
