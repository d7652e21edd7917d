import SporCRDT

/// A well-formed change that does not apply, made from two histories under one agent:
/// the document has "a" (3 events: "ab" typed, then "b" deleted); the author typed
/// "abc" instead (the same 3 event ids) and then inserts at position 3, which the
/// document's text does not have at that version. Reading the batch cannot tell;
/// only a merge can.
public struct EditOutsideItsText {
    /// The document's own history ("a"), to merge or push first.
    public let storedHistory: Document
    /// The author after the edit.
    public var author: Document
    /// The edit that does not apply to `storedHistory`.
    public let edit: [UInt8]

    public init(agent: String) throws {
        var stored = Document(agent: try AgentID(agent))
        try stored.insert("ab", at: 0)
        try stored.delete(1..<2)
        var author = Document(agent: try AgentID(agent))
        try author.insert("abc", at: 0)
        let base = author.versionVector
        try author.insert("!", at: 3)
        storedHistory = stored
        edit = try author.encodedChanges(since: base)
        self.author = author
    }
}
