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
    }

    public struct Transaction: Sendable {
        /// Indices of earlier transactions this one was made on; empty for the empty
        /// document. Sequential traces: always the previous transaction.
        public let parents: [Int]
        public let agent: Int
        public let patches: [Patch]
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
