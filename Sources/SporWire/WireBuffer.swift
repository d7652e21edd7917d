import NIOCore
import SporCRDT

/// Writes the protocol's primitive fields (Protocol/SPEC.md, "Encoding").
extension ByteBuffer {
    /// Unsigned LEB128: 7 bits per byte, low bits first, high bit set on all bytes
    /// but the last.
    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        writeInteger(UInt8(value))
    }

    public mutating func writeVarint(_ value: Int) {
        precondition(value >= 0, "varints are unsigned")
        writeVarint(UInt64(value))
    }

    /// A varint byte count followed by the UTF-8 bytes.
    public mutating func writeWireString(_ string: String) {
        writeVarint(string.utf8.count)
        writeString(string)
    }

    /// A varint byte count followed by the bytes.
    public mutating func writeWireBytes(_ bytes: [UInt8]) {
        writeVarint(bytes.count)
        writeBytes(bytes)
    }

    /// A varint entry count, then each agent (string) with its event count (varint),
    /// agents in ascending byte order.
    public mutating func writeVersionVector(_ vector: VersionVector) {
        let agents = vector.agents
        writeVarint(agents.count)
        for agent in agents {
            writeWireString(agent.name)
            writeVarint(vector[agent])
        }
    }
}

/// Reads the protocol's primitive fields from a frame's payload. Every read checks
/// its bounds and throws ``WireError`` with code ``WireErrorCode/malformedFrame``
/// naming the field; nothing traps on hostile bytes.
struct WireReader {
    var buffer: ByteBuffer
    let messageName: String

    func malformed(_ what: String) -> WireError {
        WireError(.malformedFrame, "\(messageName): \(what)")
    }

    mutating func readVarint(_ field: String) throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw malformed("\(field) is cut off") }
            if shift == 63 && byte > 1 { throw malformed("\(field) does not fit 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 { throw malformed("\(field) is not minimally encoded") }
                return result
            }
            shift += 7
        }
    }

    /// A varint that must be at most `limit` (and so fits `Int`).
    mutating func readCount(_ field: String, atMost limit: Int) throws(WireError) -> Int {
        let value = try readVarint(field)
        guard value <= UInt64(limit) else { throw malformed("\(field) \(value) exceeds \(limit)") }
        return Int(value)
    }

    /// A server's stored time (protocol 3): Unix seconds up to the end of year 9999.
    mutating func readStoredTime() throws(WireError) -> Int64 {
        Int64(try readCount("stored time", atMost: Int(SporProtocol.latestStoredTime)))
    }

    mutating func readBytes(_ field: String, atMost limit: Int) throws(WireError) -> [UInt8] {
        let count = try readCount("\(field) length", atMost: limit)
        guard let bytes = buffer.readBytes(length: count) else { throw malformed("\(field) is cut off") }
        return bytes
    }

    mutating func readString(_ field: String, atMost limit: Int) throws(WireError) -> String {
        let bytes = try readBytes(field, atMost: limit)
        guard let string = String(validating: bytes, as: UTF8.self) else { throw malformed("\(field) is not valid UTF-8") }
        return string
    }

    /// A document or organisation id (``SporProtocol/isValidName(_:)``).
    mutating func readName(_ field: String) throws(WireError) -> String {
        let name = try readString(field, atMost: SporProtocol.maxNameBytes)
        guard SporProtocol.isValidName(name) else { throw malformed("\(field) \(String(reflecting: name)) is not a valid name") }
        return name
    }

    mutating func readVersionVector(_ field: String) throws(WireError) -> VersionVector {
        let count = try readCount("\(field) entry count", atMost: buffer.readableBytes / 2)
        var counts: [AgentID: Int] = [:]
        counts.reserveCapacity(count)
        var previous: String?
        for _ in 0..<count {
            let name = try readString("\(field) agent", atMost: AgentID.maxUTF8Count)
            let agent: AgentID
            do { agent = try AgentID(name) } catch { throw malformed("\(field) agent: \(error.message)") }
            if let previous, !previous.utf8.lexicographicallyPrecedes(name.utf8) {
                throw malformed("\(field) agents are not in ascending order")
            }
            previous = name
            let events = try readCount("\(field) event count", atMost: Int(Int32.max))
            guard events > 0 else { throw malformed("\(field) lists an agent with 0 events") }
            counts[agent] = events
        }
        return VersionVector(counts)
    }

    mutating func finish() throws(WireError) {
        guard buffer.readableBytes == 0 else { throw malformed("\(buffer.readableBytes) unexpected bytes at the end") }
    }
}
