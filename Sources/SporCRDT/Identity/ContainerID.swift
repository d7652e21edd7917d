/// What a container is, which decides its operations and merge semantics.
public enum ContainerKind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Collaborative Unicode text (Eg-walker, YjsMod/FugueMax ordering).
    case text = 0
    /// A multi-value register (see ``RegisterValue``).
    case register = 1
    /// String keys to multi-value registers of values or child containers.
    case map = 2
    /// An ordered list of values or child containers, with moves.
    case list = 3
    /// An add-wins set of values.
    case set = 4

    public var description: String {
        switch self {
        case .text: "text"
        case .register: "register"
        case .map: "map"
        case .list: "list"
        case .set: "set"
        }
    }
}

/// The stable address of a container in a document: a named root container, or a
/// child of a map (by key) or of a list (by item), together with its kind.
///
/// Child ids are *deterministic*: two replicas that concurrently create a text under
/// the same key of the same map address the same container, so their edits merge
/// instead of one replica's container vanishing. Names and keys are 1...``maxUTF8Count``
/// bytes of UTF-8 without control characters.
public struct ContainerID: Hashable, Sendable, CustomStringConvertible {
    public static let maxUTF8Count = 128

    enum Path: Hashable, Sendable {
        case root(String)
        case mapEntry(parent: ContainerID, key: String)
        case listItem(parent: ContainerID, item: EventID)
    }

    /// The path, shared by copies of the id, with its hash computed once: ids are
    /// compared on every keystroke (is this the text typed in last?) and hashed for
    /// every container a change names, and a child's path contains its parent's.
    private final class Storage: Sendable {
        let path: Path
        let hash: Int

        init(kind: ContainerKind, path: Path) {
            self.path = path
            var hasher = Hasher()
            hasher.combine(kind)
            hasher.combine(path)   // a parent contributes its stored hash: O(1) per level
            hash = hasher.finalize()
        }
    }

    public let kind: ContainerKind
    private let storage: Storage
    var path: Path { storage.path }

    init(kind: ContainerKind, path: Path) {
        self.kind = kind
        self.storage = Storage(kind: kind, path: path)
    }

    public static func == (lhs: ContainerID, rhs: ContainerID) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.kind == rhs.kind && lhs.storage.hash == rhs.storage.hash && lhs.storage.path == rhs.storage.path)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.hash)
    }

    /// A root container named `name`.
    public static func root(_ name: String, _ kind: ContainerKind) throws(CRDTError) -> ContainerID {
        try checkName(name, "container name")
        return ContainerID(kind: kind, path: .root(name))
    }

    /// A root text named `name` (the form every text used before other kinds existed).
    public init(_ name: String) throws(CRDTError) {
        try Self.checkName(name, "container name")
        self.init(kind: .text, path: .root(name))
    }

    /// The text a document has by default: the root text `"text"`.
    public static let text = ContainerID(kind: .text, path: .root("text"))

    /// The child of kind `kind` under `key` of this map.
    public func child(_ key: String, _ kind: ContainerKind) throws(CRDTError) -> ContainerID {
        guard self.kind == .map else {
            throw CRDTError(.unknownContainer, "\(self) is a \(self.kind), only maps have keyed children")
        }
        try Self.checkName(key, "map key")
        return ContainerID(kind: kind, path: .mapEntry(parent: self, key: key))
    }

    /// The child of kind `kind` held by item `item` of this list.
    public func child(_ item: ListItemID, _ kind: ContainerKind) throws(CRDTError) -> ContainerID {
        guard self.kind == .list else {
            throw CRDTError(.unknownContainer, "\(self) is a \(self.kind), only lists have item children")
        }
        return ContainerID(kind: kind, path: .listItem(parent: self, item: item.event))
    }

    /// The name of a root container, nil for children.
    public var rootName: String? {
        if case let .root(name) = path { return name }
        return nil
    }

    /// The map key of a map child, nil otherwise.
    public var key: String? {
        if case let .mapEntry(_, key) = path { return key }
        return nil
    }

    /// The list item (its insert event) of a list item's child, nil otherwise.
    public var listItem: EventID? {
        if case let .listItem(_, item) = path { return item }
        return nil
    }

    /// The container this one is a child of, nil for roots.
    public var parent: ContainerID? {
        switch path {
        case .root: nil
        case let .mapEntry(parent, _), let .listItem(parent, _): parent
        }
    }

    /// For a text, the root name (texts used to be addressed by name only).
    public var name: String {
        switch path {
        case let .root(name): name
        case let .mapEntry(_, key): key
        case let .listItem(_, item): item.description
        }
    }

    static func checkName(_ name: String, _ what: String) throws(CRDTError) {
        let count = name.utf8.count
        guard count > 0, count <= maxUTF8Count,
              !UTF8Scalars.containsControlCharacter(name)
        else {
            throw CRDTError(.unknownContainer,
                            "\(what) \(String(reflecting: name)) must be 1...\(maxUTF8Count) bytes without control characters")
        }
    }

    static func isValidName(_ name: String) -> Bool {
        (try? checkName(name, "")) != nil
    }

    public var description: String {
        switch path {
        case let .root(name): "\(name)(\(kind))"
        case let .mapEntry(parent, key): "\(parent)/\(key)(\(kind))"
        case let .listItem(parent, item): "\(parent)[\(item)](\(kind))"
        }
    }
}

extension ContainerID: Comparable {
    /// Orders by path text, then kind: a total order for listings (not a merge rule).
    public static func < (lhs: ContainerID, rhs: ContainerID) -> Bool {
        let left = lhs.description, right = rhs.description
        if left != right { return left.utf8.lexicographicallyPrecedes(right.utf8) }
        return lhs.kind.rawValue < rhs.kind.rawValue
    }
}
