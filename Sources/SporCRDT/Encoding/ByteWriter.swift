/// Appends Spor's binary primitives to a growing byte array.
///
/// - varint: unsigned LEB128 (7 bits per byte, low bits first, high bit = more);
/// - signed varint: zigzag-mapped (0, -1, 1, -2, ... → 0, 1, 2, 3, ...), then varint;
/// - string: varint byte count, then UTF-8.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    @inline(__always)
    mutating func writeByte(_ byte: UInt8) { bytes.append(byte) }

    @inline(__always)
    mutating func writeVarint(_ value: Int) {
        precondition(value >= 0, "varints encode non-negative values")
        writeVarint(UInt64(value))
    }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    @inline(__always)
    mutating func writeSignedVarint(_ value: Int) {
        writeVarint(UInt64(bitPattern: Int64((value << 1) ^ (value >> 63))))
    }

    mutating func writeString(_ string: String) {
        let utf8 = string.utf8
        writeVarint(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    mutating func writeBytes(_ other: some Sequence<UInt8>) { bytes.append(contentsOf: other) }

    /// Little-endian 32-bit value.
    mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
