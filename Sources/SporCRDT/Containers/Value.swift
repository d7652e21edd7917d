/// A value stored in a register, map entry, list item or set.
///
/// Equality is exact (bit-for-bit for doubles); there is no NaN or infinity. A
/// `child` value says that a child container of that kind lives at this map key or
/// list item (its id follows from the place, see ``ContainerID/child(_:_:)-...``).
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case child(ContainerKind)

    /// The longest string value accepted, in UTF-8 bytes.
    public static let maxStringUTF8Count = 1 << 20

    public var description: String {
        switch self {
        case .null: "null"
        case let .bool(value): String(value)
        case let .int(value): String(value)
        case let .double(value): String(value)
        case let .string(value): String(reflecting: value)
        case let .child(kind): "<\(kind)>"
        }
    }

    public var stringValue: String? { if case let .string(value) = self { value } else { nil } }
    public var intValue: Int64? { if case let .int(value) = self { value } else { nil } }
    public var boolValue: Bool? { if case let .bool(value) = self { value } else { nil } }
    public var doubleValue: Double? {
        switch self {
        case let .double(value): value
        case let .int(value): Double(value)
        default: nil
        }
    }

    /// Checks what the API accepts: finite doubles, strings within the size limit.
    func validated() throws(CRDTError) -> Value {
        switch self {
        case let .double(value) where !value.isFinite:
            throw CRDTError(.invalidValue, "\(value) is not a finite number")
        case let .string(value) where value.utf8.count > Self.maxStringUTF8Count:
            throw CRDTError(.invalidValue, "a string value of \(value.utf8.count) bytes exceeds \(Self.maxStringUTF8Count)")
        default:
            return self
        }
    }

    /// A total order used to sort sets and break ties deterministically.
    static func precedes(_ lhs: Value, _ rhs: Value) -> Bool {
        func rank(_ value: Value) -> Int {
            switch value {
            case .null: 0
            case .bool: 1
            case .int: 2
            case .double: 3
            case .string: 4
            case .child: 5
            }
        }
        switch (lhs, rhs) {
        case let (.bool(a), .bool(b)): return !a && b
        case let (.int(a), .int(b)): return a < b
        case let (.double(a), .double(b)): return a < b
        case let (.string(a), .string(b)): return a.utf8.lexicographicallyPrecedes(b.utf8)
        case let (.child(a), .child(b)): return a.rawValue < b.rawValue
        default: return rank(lhs) < rank(rhs)
        }
    }
}

/// The id of a list item: the event that inserted it.
public struct ListItemID: Hashable, Sendable, CustomStringConvertible {
    public let event: EventID
    public init(_ event: EventID) { self.event = event }
    public var description: String { event.description }
}
