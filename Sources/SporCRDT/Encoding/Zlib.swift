import CSystemZlib

/// CRC-32 checksums and deflate compression, from the system zlib.
enum Zlib {
    /// The CRC-32 (ISO-HDLC, as in gzip and PNG) of `bytes`.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt = CSystemZlib.crc32(0, nil, 0)
        var start = 0
        // zlib takes a 32-bit length: feed large inputs in pieces.
        while start < bytes.count {
            let length = min(bytes.count - start, 1 << 30)
            crc = CSystemZlib.crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self) + start, uInt(length))
            start += length
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0) }
    }

    /// Raw deflate (no zlib header) of `input`, optionally against a preset
    /// `dictionary` that the decompressor must supply too.
    static func deflate(_ input: [UInt8], dictionary: [UInt8] = [], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // -15: raw deflate, 32 KiB window. Memory level 8 is zlib's default.
        guard deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            preconditionFailure("zlib could not initialise deflate")
        }
        defer { deflateEnd(&stream) }
        if !dictionary.isEmpty {
            // Only the last 32 KiB of a dictionary can be referenced.
            let usable = dictionary.suffix(32 * 1024)
            _ = usable.withUnsafeBufferPointer { deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
        }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 16)
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer -> Int in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                let status = CSystemZlib.deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflateBound was too small")
                return outputBuffer.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Inflates raw deflate data that must expand to exactly `expectedCount` bytes.
    static func inflate(
        _ input: ArraySlice<UInt8>, expectedCount: Int, dictionary: ArraySlice<UInt8> = [], context: String
    ) throws(CRDTError) -> [UInt8] {
        // Deflate cannot expand more than ~1032:1; anything claiming more is a bomb.
        guard expectedCount <= max(1024, input.count * 1032) else {
            throw CRDTError(.limitExceeded, "compressed data claims an impossible expansion", context: context)
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CRDTError(.compression, "zlib could not initialise inflate", context: context)
        }
        defer { inflateEnd(&stream) }
        if !dictionary.isEmpty {
            let usable = dictionary.suffix(32 * 1024)
            let status = usable.withUnsafeBufferPointer { inflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
            guard status == Z_OK else { throw CRDTError(.compression, "zlib rejected the dictionary", context: context) }
        }
        // One spare byte: a stream longer than announced is caught, not truncated.
        var output = [UInt8](repeating: 0, count: expectedCount + 1)
        var status: Int32 = Z_OK
        var produced = 0
        var consumed = 0
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                // With no output space left, zlib still reports the end of the stream.
                status = CSystemZlib.inflate(&stream, Z_FINISH)
                produced = outputBuffer.count - Int(stream.avail_out)
                consumed = inputBuffer.count - Int(stream.avail_in)
            }
        }
        guard status == Z_STREAM_END, produced == expectedCount, consumed == input.count else {
            throw CRDTError(.compression, "compressed data is corrupt or has the wrong length", context: context)
        }
        output.removeLast()
        return output
    }
}
