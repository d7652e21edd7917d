import NIOCore

/// Splits a byte stream into protocol frames and decodes each into a
/// ``SporMessage``.
///
/// The length prefix is checked against ``maxFrameBytes`` as soon as its four bytes
/// have arrived — before any of the frame is buffered — so a peer cannot make the
/// decoder hold more than one maximal frame. Errors are ``WireError``s:
/// `frameTooLarge` for an oversized or zero length, `malformedFrame` for a bad
/// payload, and on end of stream a partial frame left over is reported as
/// `malformedFrame` ("connection closed in the middle of a frame").
public struct SporFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = SporMessage

    /// The largest frame accepted (type byte + payload).
    public let maxFrameBytes: Int
    /// The largest first frame (HELLO or WELCOME): unauthenticated peers get little.
    public let maxFirstFrameBytes: Int
    private var isFirstFrame = true

    public init(maxFrameBytes: Int = SporProtocol.defaultMaxFrameBytes,
                maxFirstFrameBytes: Int = SporProtocol.maxHandshakeFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
        self.maxFirstFrameBytes = min(maxFirstFrameBytes, maxFrameBytes)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let limit = isFirstFrame ? maxFirstFrameBytes : maxFrameBytes
        guard let message = try Self.nextMessage(from: &buffer, maxFrameBytes: limit) else { return .needMoreData }
        isFirstFrame = false
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let leftover = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: leftover)
            var error = WireError(.malformedFrame, "connection closed in the middle of a frame (\(leftover) bytes left over)")
            error.isTruncatedAtClose = true
            throw error
        }
        return .needMoreData
    }

    /// Takes one whole frame off the front of `buffer` and decodes it; nil (and
    /// `buffer` untouched) if the frame has not fully arrived. The transport-free
    /// core of the decoder, also used by the fuzz target.
    public static func nextMessage(from buffer: inout ByteBuffer, maxFrameBytes: Int) throws(WireError) -> SporMessage? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length > 0 else { throw WireError(.malformedFrame, "frame of length 0 has no type byte") }
        guard Int(length) <= maxFrameBytes else {
            throw WireError(.frameTooLarge, "frame of \(length) bytes exceeds the limit of \(maxFrameBytes)")
        }
        guard buffer.readableBytes >= SporProtocol.lengthPrefixBytes + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: SporProtocol.lengthPrefixBytes)
        guard let type = buffer.readInteger(as: UInt8.self),
              let payload = buffer.readSlice(length: Int(length) - 1) else {
            throw WireError(.malformedFrame, "frame shorter than its length")  // unreachable: length checked above
        }
        return try SporMessage.decode(type: type, payload: payload)
    }
}

/// Encodes ``SporMessage``s as protocol frames.
public struct SporFrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = SporMessage

    public init() {}

    public func encode(data: SporMessage, out: inout ByteBuffer) throws {
        data.writeFrame(into: &out)
    }
}
