/// The envelope shared by Spor's binary formats:
///
/// ```
/// "SPOR"           4 bytes, magic
/// kind             1 byte: "C" change batch, "D" document
/// format version   varint (currently 1)
/// flags            varint (meaning depends on the kind)
/// payload          kind-specific
/// checksum         4 bytes: CRC-32 (little-endian) of everything before it
/// ```
///
/// The checksum is verified before anything else is parsed, so every truncation
/// and bit flip is reported as such instead of being misread.
enum EncodedFile {
    static let magic: [UInt8] = Array("SPOR".utf8)
    static let formatVersion = 1

    enum Kind: UInt8 {
        case changes = 0x43  // "C"
        case document = 0x44  // "D"
    }

    /// Writes the envelope's header.
    static func beginWriting(_ kind: Kind, flags: Int, capacity: Int) -> ByteWriter {
        var writer = ByteWriter(reservingCapacity: capacity + 16)
        writer.writeBytes(magic)
        writer.writeByte(kind.rawValue)
        writer.writeVarint(formatVersion)
        writer.writeVarint(flags)
        return writer
    }

    /// Appends the checksum and returns the finished bytes.
    static func finish(_ writer: ByteWriter) -> [UInt8] {
        var writer = writer
        writer.writeUInt32(Zlib.crc32(writer.bytes))
        return writer.bytes
    }

    /// Checks magic, kind, checksum and version; returns a reader positioned at the
    /// payload (ending before the checksum) and the flags.
    static func open(_ bytes: [UInt8], as kind: Kind, section: String) throws(CRDTError) -> (ByteReader, flags: Int) {
        let minimum = magic.count + 1 + 1 + 1 + 4
        guard bytes.count >= minimum else {
            throw CRDTError(.truncated, "\(bytes.count) bytes are too few for a Spor \(section)", context: section)
        }
        guard bytes.starts(with: magic) else {
            throw CRDTError(.badMagic, "this is not a Spor \(section) (wrong magic number)", context: section)
        }
        guard bytes[magic.count] == kind.rawValue else {
            throw CRDTError(.badMagic, "this is a Spor file of another kind, not a \(section)", context: section)
        }
        let bodyEnd = bytes.count - 4
        var stored: UInt32 = 0
        for index in 0..<4 { stored |= UInt32(bytes[bodyEnd + index]) << UInt32(8 * index) }
        let actual = bytes.withUnsafeBytes { Zlib.crc32(UnsafeRawBufferPointer(rebasing: $0[0..<bodyEnd])) }
        guard stored == actual else {
            throw CRDTError(.checksumMismatch, "the \(section) is corrupted (checksum mismatch)", context: section)
        }
        var reader = ByteReader(bytes, from: magic.count + 1, to: bodyEnd, section: section)
        let version = try reader.readVarint()
        guard version == formatVersion else {
            throw CRDTError(.unsupportedVersion,
                            "the \(section) uses format version \(version); this build reads version \(formatVersion)",
                            context: section)
        }
        let flags = try reader.readVarint()
        return (reader, flags)
    }
}

/// A change batch's envelope (magic, kind, version, `flags`, checksum) around
/// `payload` exactly as given: for tests and load generators that send the server
/// batches no client would make (a compressed body that claims a huge size, say).
package func encodedChangesEnvelope(flags: Int, payload: [UInt8]) -> [UInt8] {
    var writer = EncodedFile.beginWriting(.changes, flags: flags, capacity: payload.count)
    writer.writeBytes(payload)
    return EncodedFile.finish(writer)
}
