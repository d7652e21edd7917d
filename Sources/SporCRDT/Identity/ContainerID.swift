/// The stable name of a container (a text, and in time maps, lists, registers and
/// sets) inside a document. Every replica addresses the same container by the same
/// id. Names are 1...``maxUTF8Count`` bytes of UTF-8 without control characters.
public struct ContainerID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maxUTF8Count = 128

    public let name: String

    public init(_ name: String) throws(CRDTError) {
        let count = name.utf8.count
        guard count > 0, count <= Self.maxUTF8Count,
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw CRDTError(.unknownContainer,
                            "container name \(String(reflecting: name)) must be 1...\(Self.maxUTF8Count) bytes without control characters")
        }
        self.name = name
    }

    init(unchecked name: String) { self.name = name }

    /// The text a document has by default: `"text"`.
    public static let text = ContainerID(unchecked: "text")

    public static func < (lhs: ContainerID, rhs: ContainerID) -> Bool {
        lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }

    public var description: String { name }
}
