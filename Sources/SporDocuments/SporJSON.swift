import Foundation

/// JSON as Spor prints it (`spor … --json`): Foundation's `JSONEncoder`, pretty-printed
/// with sorted keys, so the same value always gives the same bytes in every workspace.
///
/// Three details of `JSONEncoder`'s output are brought back to the form Spor has always
/// printed (and that people and scripts have seen since the first version): an empty
/// array or object is `[]` / `{}` rather than an opening bracket, a blank line and a
/// closing one; a backspace or form feed in a text is `\u0008` / `\u000c` rather than
/// `\b` / `\f`; and "/" is not escaped. All three are the same JSON value either way.
/// The rewrite is one pass over the encoded bytes.
public enum SporJSON {
    /// The pretty-printed, key-sorted JSON of `value`, without a final newline.
    ///
    /// Fails only as `JSONEncoder` does (a non-finite Double; Spor's shapes have none).
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return inSporForm(try encoder.encode(value))
    }

    /// An instant as ISO 8601 in UTC to the second ("2024-02-01T12:00:00Z").
    public static func iso(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// `iso(_:)` of an optional instant: nil stays nil (JSON null with ``Nullable``).
    public static func iso(_ date: Date?) -> String? { date.map(iso) }

    /// `JSONEncoder`'s pretty-printed bytes in Spor's form (see the type's comment).
    ///
    /// Two facts of JSON make this a scan for two bytes (`memchr`), with no tracking of
    /// strings: a raw newline occurs only outside strings, where two in a row happen only
    /// inside an empty container (`[`, newline, newline, indentation, `]`: the blank line
    /// and the indentation are dropped); a backslash occurs only inside strings, and
    /// read left to right each one not itself escaped starts an escape (`\b` and `\f`
    /// become `\u0008` and `\u000c`). Linear; unchanged stretches are copied whole.
    static func inSporForm(_ data: Data) -> [UInt8] {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> [UInt8] in
            guard let base = bytes.baseAddress else { return [] }
            let count = bytes.count
            var output: [UInt8] = []
            output.reserveCapacity(count)
            let newline = UInt8(ascii: "\n"), backslash = UInt8(ascii: "\\")
            /// The index of the next `byte` at or after `start`, or `count`.
            func next(_ byte: UInt8, from start: Int) -> Int {
                guard start < count, let found = memchr(base + start, Int32(byte), count - start) else { return count }
                return base.distance(to: UnsafeRawPointer(found))
            }
            func copy(_ range: Range<Int>) {
                if !range.isEmpty { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range])) }
            }
            var copied = 0  // bytes[..<copied] are in `output` or dropped
            var nextNewline = next(newline, from: 0), nextBackslash = next(backslash, from: 0)
            while nextNewline < count || nextBackslash < count {
                if nextBackslash < nextNewline {
                    let index = nextBackslash
                    let escaped = index + 1 < count ? bytes[index + 1] : 0
                    if escaped == UInt8(ascii: "b") || escaped == UInt8(ascii: "f") {
                        copy(copied..<index)
                        output.append(contentsOf: escaped == UInt8(ascii: "b") ? Self.backspace : Self.formFeed)
                        copied = index + 2
                    }
                    // The escaped byte (a backslash too, perhaps) is skipped.
                    nextBackslash = next(backslash, from: index + 2)
                } else {
                    let index = nextNewline
                    if index + 1 < count, bytes[index + 1] == newline {
                        copy(copied..<index)
                        var end = index + 2
                        while end < count, bytes[end] == UInt8(ascii: " ") { end += 1 }
                        copied = end
                        nextNewline = next(newline, from: end)
                    } else {
                        nextNewline = next(newline, from: index + 1)
                    }
                }
            }
            copy(copied..<count)
            return output
        }
    }

    private static let backspace = Array(#"\u0008"#.utf8)
    private static let formFeed = Array(#"\u000c"#.utf8)
}

/// An optional value that is written as JSON `null` when absent, where a plain optional
/// property of an `Encodable` struct would leave its key out: every key of a `--json`
/// shape is always present, so a script can tell "none" from "not this version".
@propertyWrapper
public struct Nullable<Value: Encodable>: Encodable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension Nullable: Sendable where Value: Sendable {}
extension Nullable: Equatable where Value: Equatable {}

extension KeyedEncodingContainer {
    /// How the synthesized `Encodable` of a shape writes a ``Nullable`` property: the
    /// value, or `null` — straight into the container. (Without this overload each
    /// `Nullable` would go through `JSONEncoder`'s generic path, a nested encoder per
    /// value, which doubled the time of a list of budget lines.)
    @inlinable
    public mutating func encode<Value>(_ value: Nullable<Value>, forKey key: Key) throws {
        switch value.wrappedValue {
        case nil: try encodeNil(forKey: key)
        case let string as String: try encode(string, forKey: key)
        case let number as Int64: try encode(number, forKey: key)
        case let number as Int: try encode(number, forKey: key)
        case let wrapped?: try encode(wrapped, forKey: key)
        }
    }
}
