import Foundation
import SporCRDT

/// A recorded editing history in the format of `../shared/traces` (josephg's
/// editing-traces): either sequential (one author, patches in order) or concurrent
/// (transactions with explicit parents, made by several agents).
public struct EditingTrace: Sendable {
    public enum Kind: String, Sendable {
        case sequential
        case concurrent
    }

    /// Replace `deleteCount` scalars at `position` by `insert` (positions count
    /// Unicode scalars in the text the patch applies to).
    public struct Patch: Sendable, Hashable {
        public let position: Int
        public let deleteCount: Int
        public let insert: String

        public init(position: Int, deleteCount: Int, insert: String) {
            self.position = position
            self.deleteCount = deleteCount
            self.insert = insert
        }
    }

    public struct Transaction: Sendable {
        /// Indices of earlier transactions this one was made on; empty for the empty
        /// document. Sequential traces: always the previous transaction.
        public let parents: [Int]
        public let agent: Int
        public let patches: [Patch]

        public init(parents: [Int], agent: Int, patches: [Patch]) {
            self.parents = parents
            self.agent = agent
            self.patches = patches
        }
    }

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public let name: String
    public let kind: Kind
    public let endContent: String
    public let agentCount: Int
    public let transactions: [Transaction]

    /// The number of events (scalars inserted plus scalars deleted) the trace makes.
    public var eventCount: Int {
        transactions.reduce(0) { total, transaction in
            transaction.patches.reduce(total) { $0 + $1.deleteCount + $1.insert.unicodeScalars.count }
        }
    }

    /// Reads a `.json` or `.json.gz` trace file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FormatError(description: "cannot read \(path)")
        }
        var bytes = [UInt8](data)
        if Gunzip.isGzip(bytes) { bytes = try Gunzip.inflate(bytes) }
        var name = (path as NSString).lastPathComponent
        for suffix in [".json.gz", ".json", ".gz"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        try self.init(json: bytes, name: name)
    }

    /// A concurrent trace built in memory (``BranchingHistory``).
    public init(name: String, endContent: String, agentCount: Int, transactions: [Transaction]) {
        self.name = name
        kind = .concurrent
        self.endContent = endContent
        self.agentCount = agentCount
        self.transactions = transactions
    }

    /// The trace in the format it is read from (concurrent form), so that other
    /// libraries (`../shared/peers/bench_peers.py`) can replay the same history.
    public func jsonBytes() throws -> [UInt8] {
        let root: [String: Any] = [
            "kind": "concurrent",
            "endContent": endContent,
            "numAgents": agentCount,
            "txns": transactions.map { transaction -> [String: Any] in
                ["parents": transaction.parents, "agent": transaction.agent,
                 "patches": transaction.patches.map { [$0.position, $0.deleteCount, $0.insert] as [Any] }]
            },
        ]
        return [UInt8](try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]))
    }

    public init(json: [UInt8], name: String) throws {
        self.name = name
        guard let root = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw FormatError(description: "\(name): the trace is not a JSON object")
        }
        guard let end = root["endContent"] as? String, let rawTransactions = root["txns"] as? [[String: Any]] else {
            throw FormatError(description: "\(name): missing endContent or txns")
        }
        if let start = root["startContent"] as? String, !start.isEmpty {
            throw FormatError(description: "\(name): a non-empty startContent is not supported")
        }
        endContent = end
        let concurrent = (root["kind"] as? String) == "concurrent"
        kind = concurrent ? .concurrent : .sequential
        agentCount = concurrent ? ((root["numAgents"] as? Int) ?? 1) : 1
        var transactions: [Transaction] = []
        transactions.reserveCapacity(rawTransactions.count)
        for (index, raw) in rawTransactions.enumerated() {
            guard let rawPatches = raw["patches"] as? [[Any]] else {
                throw FormatError(description: "\(name): transaction \(index) has no patches")
            }
            var patches: [Patch] = []
            patches.reserveCapacity(rawPatches.count)
            for rawPatch in rawPatches {
                guard rawPatch.count == 3, let position = rawPatch[0] as? Int, let deleteCount = rawPatch[1] as? Int,
                      let insert = rawPatch[2] as? String, position >= 0, deleteCount >= 0
                else { throw FormatError(description: "\(name): transaction \(index) has a malformed patch") }
                patches.append(Patch(position: position, deleteCount: deleteCount, insert: insert))
            }
            let parents: [Int]
            let agent: Int
            if concurrent {
                guard let rawParents = raw["parents"] as? [Int], let rawAgent = raw["agent"] as? Int,
                      rawParents.allSatisfy({ $0 >= 0 && $0 < index }), rawAgent >= 0, rawAgent < agentCount
                else { throw FormatError(description: "\(name): transaction \(index) has bad parents or agent") }
                parents = rawParents
                agent = rawAgent
            } else {
                parents = index == 0 ? [] : [index - 1]
                agent = 0
            }
            transactions.append(Transaction(parents: parents, agent: agent, patches: patches))
        }
        self.transactions = transactions
    }
}
