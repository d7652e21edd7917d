import NIOCore
import SporCRDT
import SporWire

/// libFuzzer entry point: treats the input as bytes arriving on a connection.
///
/// Checks, for every input: decoding never traps; every message decoded re-encodes
/// to exactly the bytes of its frame and decodes to an equal message; every change
/// batch inside a PUSH or EVENTS is summarised (as the server does) without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireDecoder(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: start, count: count))
    var buffer = ByteBuffer(bytes: input)
    while true {
        let frameStart = buffer.readerIndex
        let message: SporMessage?
        do {
            message = try SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: 64 * 1024)
        } catch {
            return 0
        }
        guard let message else { return 0 }
        let frame = Array(input[frameStart..<buffer.readerIndex])
        let reencoded = message.frameBytes
        precondition(reencoded == frame, "re-encoding \(message.type) changed its bytes")
        var again = ByteBuffer(bytes: reencoded)
        precondition((try? SporFrameDecoder.nextMessage(from: &again, maxFrameBytes: 64 * 1024)) == message,
                     "\(message.type) did not survive a round trip")
        switch message {
        case let .push(_, _, changes):
            _ = try? ChangeSummary(encodedChanges: changes)
        case let .events(events):
            for batch in events.batches { _ = try? ChangeSummary(encodedChanges: batch) }
        default:
            break
        }
    }
}

/// libFuzzer's driver (from the `-sanitize=fuzzer` runtime).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point as `<module>_main`; it hands control
/// to libFuzzer's driver with the fuzz function.
@_cdecl("spor_wire_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzWireDecoder)
}
