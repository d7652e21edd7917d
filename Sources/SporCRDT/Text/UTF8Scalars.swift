/// Unicode-scalar arithmetic on UTF-8 bytes that are already known to be valid.
///
/// Positions in Spor's text API count Unicode scalars (code points), while text is
/// stored as UTF-8. In valid UTF-8 every scalar starts with exactly one byte that is
/// not a continuation byte (`10xxxxxx`), which makes counting and seeking a simple
/// byte scan with an ASCII fast path.
enum UTF8Scalars {
    @inline(__always)
    static func isScalarStart(_ byte: UInt8) -> Bool { byte & 0xC0 != 0x80 }

    /// The number of scalars in `bytes`.
    @inline(__always)
    static func count(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        for byte in bytes where isScalarStart(byte) { count += 1 }
        return count
    }

    /// The byte offset of scalar `scalar` in `bytes` (`bytes.count` if it is the end).
    @inline(__always)
    static func byteOffset(ofScalar scalar: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var seen = 0
        var index = 0
        while index < bytes.count {
            if isScalarStart(bytes[index]) {
                if seen == scalar { return index }
                seen += 1
            }
            index += 1
        }
        return bytes.count
    }

    /// The largest scalar boundary at or before `limit` in `bytes` (never 0 unless
    /// `limit` is 0).
    @inline(__always)
    static func boundary(atOrBefore limit: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        if limit >= bytes.count { return bytes.count }
        var cut = limit
        while cut > 0, !isScalarStart(bytes[cut]) { cut -= 1 }
        return cut
    }
}

extension UTF8Scalars {
    /// Validates `bytes` as UTF-8 (no overlong forms, no surrogates, nothing above
    /// U+10FFFF) and returns the number of scalars, or nil if invalid.
    static func validate(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = 0
        var scalars = 0
        let count = bytes.count
        guard let base = bytes.baseAddress else { return 0 }
        while index < count {
            // ASCII fast path, eight bytes at a time.
            if index + 8 <= count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                    scalars += 8
                    continue
                }
            }
            let lead = base[index]
            if lead < 0x80 {
                index += 1
                scalars += 1
                continue
            }
            let length: Int
            var minimum: UInt32
            var value: UInt32
            switch lead {
            case 0xC2...0xDF: length = 2; minimum = 0x80; value = UInt32(lead & 0x1F)
            case 0xE0...0xEF: length = 3; minimum = 0x800; value = UInt32(lead & 0x0F)
            case 0xF0...0xF4: length = 4; minimum = 0x10000; value = UInt32(lead & 0x07)
            default: return nil
            }
            guard index + length <= count else { return nil }
            for offset in 1..<length {
                let byte = base[index + offset]
                guard byte & 0xC0 == 0x80 else { return nil }
                value = (value << 6) | UInt32(byte & 0x3F)
            }
            guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { return nil }
            index += length
            scalars += 1
        }
        return scalars
    }
}

extension UTF8Scalars {
    /// Whether `string` contains a control character (Unicode general category Cc:
    /// U+0000–U+001F and U+007F–U+009F), checked on its UTF-8 bytes: C0 controls and
    /// DEL are single bytes, C1 controls are 0xC2 followed by 0x80–0x9F. O(n), without
    /// Unicode property look-ups (names and keys are checked on every decode).
    static func containsControlCharacter(_ string: String) -> Bool {
        var previousWasC2 = false
        for byte in string.utf8 {
            if byte < 0x20 || byte == 0x7F || (previousWasC2 && byte >= 0x80 && byte <= 0x9F) { return true }
            previousWasC2 = byte == 0xC2
        }
        return false
    }
}
