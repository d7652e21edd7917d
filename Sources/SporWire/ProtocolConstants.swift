/// Fixed values of protocol v4 (Protocol/SPEC.md).
public enum SporProtocol {
    /// The versions this implementation speaks. Version 1 is no longer served: its
    /// clients wrote process records and membership themselves (SPEC, "Changes").
    /// Version 3 adds the server's stored time to EVENTS and PUSH_ACK; version 4
    /// adds SNAPSHOT, the start of a catch-up from nothing. Older peers are still
    /// served without them.
    public static let supportedVersions: ClosedRange<Int> = 2...4
    /// The first version whose EVENTS and PUSH_ACK carry stored times.
    public static let storedTimesVersion = 3
    /// The first version whose catch-ups from nothing may start with a SNAPSHOT.
    public static let snapshotVersion = 4
    /// The latest stored time a frame may carry: 9999-12-31 23:59:59 UTC.
    public static let latestStoredTime: Int64 = 253_402_300_799
    /// The four bytes every HELLO starts with.
    public static let magic: [UInt8] = Array("SPOR".utf8)
    /// Frame length prefix: 4 bytes, big-endian, counting the type byte and payload.
    public static let lengthPrefixBytes = 4
    /// The largest frame a peer may send before the handshake completes.
    public static let maxHandshakeFrameBytes = 16 * 1024
    /// The largest frame size any peer must accept after the handshake (servers
    /// announce their own, at most this, in WELCOME).
    public static let defaultMaxFrameBytes = 4 * 1024 * 1024
    /// Bytes a frame may need besides one change batch (type, ids, counts): a pushed
    /// batch may be at most `maxFrameBytes` minus this, so that it can be relayed.
    public static let frameOverheadAllowance = 1024
    /// Longest document id, organisation id and similar names, in UTF-8 bytes.
    public static let maxNameBytes = 64
    /// Longest human-readable text field (messages, client names), in UTF-8 bytes.
    public static let maxTextBytes = 4096
    /// Longest access token, in UTF-8 bytes.
    public static let maxTokenBytes = 256
    /// Longest note of a PROCESS_STEP (the secretariat's qualification or decision
    /// note), in UTF-8 bytes.
    public static let maxNoteBytes = 40_000
    /// Largest granted amount in a PROCESS_STEP, in DKK (ten billion).
    public static let maxGrantedAmount = 10_000_000_000

    /// Whether `name` is a valid document or organisation id: 1...64 bytes of ASCII
    /// letters, digits, `-`, `_` and `.`, not starting with `.`.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maxNameBytes, bytes.first != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                true
            default:
                false
            }
        }
    }
}
