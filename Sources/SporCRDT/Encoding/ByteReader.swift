/// Reads Spor's binary primitives (see ``ByteWriter``) from untrusted bytes.
///
/// Every read is bounds-checked and every failure is a ``CRDTError`` naming the
/// section being decoded and the byte offset, never a trap. Counts read from the
/// input are checked against the bytes left before anything is allocated for them.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int
    /// What is being decoded, for error messages.
    var section: String

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, section: String) {
        self.bytes = bytes
        self.offset = start
        self.end = end ?? bytes.count
        self.section = section
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset >= end }

    func error(_ code: CRDTError.Code, _ message: String) -> CRDTError {
        CRDTError(code, message, context: "\(section), byte \(offset)")
    }

    @inline(__always)
    mutating func readByte() throws(CRDTError) -> UInt8 {
        guard offset < end else { throw error(.truncated, "unexpected end of input") }
        let byte = bytes[offset]
        offset += 1
        return byte
    }

    /// An unsigned varint that must fit in 63 bits.
    @inline(__always)
    mutating func readVarint() throws(CRDTError) -> Int {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw error(.truncated, "unexpected end of input inside a number") }
            let byte = bytes[offset]
            offset += 1
            if shift == 63, byte > 0 { throw error(.malformed, "number too large") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            if shift > 63 { throw error(.malformed, "number too long") }
        }
        guard result <= UInt64(Int.max) else { throw error(.malformed, "number too large") }
        return Int(result)
    }

    /// A varint that is at most `limit`, naming `what` in the error.
    @inline(__always)
    mutating func readVarint(atMost limit: Int, _ what: String) throws(CRDTError) -> Int {
        let value = try readVarint()
        guard value <= limit else { throw error(.limitExceeded, "\(what) is \(value), at most \(limit) allowed") }
        return value
    }

    /// A count of items that each take at least one byte: at most the bytes left.
    mutating func readCount(_ what: String, limit: Int = .max) throws(CRDTError) -> Int {
        try readVarint(atMost: min(limit, remaining), what)
    }

    @inline(__always)
    mutating func readSignedVarint() throws(CRDTError) -> Int {
        let raw = UInt64(try readVarint())
        return Int(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
    }

    mutating func readString(maxUTF8Count: Int, _ what: String) throws(CRDTError) -> String {
        // The message is built only on failure: this runs for every key and name.
        let count = try readVarint()
        guard count <= maxUTF8Count else { throw error(.limitExceeded, "length of \(what) is \(count), at most \(maxUTF8Count) allowed") }
        guard count <= remaining else { throw error(.truncated, "\(what) runs past the end of the input") }
        let slice = bytes[offset..<offset + count]
        offset += count
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw error(.invalidUTF8, "\(what) is not valid UTF-8")
        }
        return string
    }

    /// The next `count` bytes.
    mutating func readBytes(_ count: Int, _ what: String) throws(CRDTError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw error(.truncated, "\(what) runs past the end of the input") }
        let slice = bytes[offset..<offset + count]
        offset += count
        return slice
    }

    mutating func readUInt32() throws(CRDTError) -> UInt32 {
        var value: UInt32 = 0
        for shift in stride(from: 0, to: 32, by: 8) { value |= UInt32(try readByte()) << UInt32(shift) }
        return value
    }
}
