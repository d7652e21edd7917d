import ArgumentParser
import Foundation
import SporCRDT

/// `spor-bench lists`: what a server pays to check a batch of many list operations
/// (it merges every push into its replica in the single writer). One writer makes
/// --items list inserts in one batch; a fresh replica merges it. With --concurrent,
/// two writers make half each from the same (empty) version, and the second's batch
/// is merged into the first's replica: every item then meets concurrent siblings.
struct ListBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lists",
        abstract: "Merge one batch of many list inserts; time it.",
        discussion: "Prints one JSON object: the batch's size, the median merge time over --runs, and ok (the merged list has every item)."
    )

    @Option(help: "List inserts in the batch.") var items = 100_000
    @Option(help: "Merges to time.") var runs = 5
    @Flag(help: "Two writers, half each, concurrently.") var concurrent = false
    @Flag(help: "Insert characters into a text instead of items into a list (the same pattern: each at the front).") var text = false
    @Option(help: "Merge with this placement budget, as a server checks a push (100000 by default there): times the refusal when the batch is past it.")
    var placementBudget: Int?

    struct Result: Encodable {
        var items: Int
        var concurrent: Bool
        var text: Bool
        var batchBytes: Int
        var mergeMsMedian: Double
        var mergeMsRuns: [Double]
        /// Concurrent runs or slots the merge scanned past to place the insertions.
        var placementScans: Int
        /// The merge was refused for its placement budget (after scanning past it).
        var refused: Bool
        var ok: Bool
    }

    /// `count` inserts, each at the front (the cheapest to make locally, one run).
    static func writer(_ name: String, count: Int, list: ContainerID) throws -> Document {
        var document = Document(agent: try AgentID(name))
        for index in 0..<count { _ = try document.insert(.int(Int64(index)), at: 0, in: list) }
        return document
    }

    /// `count` characters, each typed at the front of the text (no two make one run).
    static func textWriter(_ name: String, count: Int) throws -> Document {
        var document = Document(agent: try AgentID(name))
        for _ in 0..<count { try document.insert("x", at: 0) }
        return document
    }

    func run() throws {
        let list = try ContainerID.root("items", .list)
        let base: Document
        let batch: [UInt8]
        let make: (String, Int) throws -> Document = { name, count in
            text ? try Self.textWriter(name, count: count) : try Self.writer(name, count: count, list: list)
        }
        if concurrent {
            base = try make("0751/a", items / 2)
            batch = try make("0751/b", items - items / 2).encodedChanges()
        } else {
            base = Document()
            batch = try make("0751/a", items).encodedChanges()
        }
        var times: [Double] = []
        var ok = true
        var scans = 0
        var refused = false
        for _ in 0..<runs {
            var replica = base
            let started = ContinuousClock.now
            let merged: Bool
            do throws(CRDTError) {
                try replica.merge(encodedChanges: batch, placementBudget: placementBudget)
                merged = true
            } catch {
                guard error.code == .limitExceeded, placementBudget != nil else { throw error }
                merged = false
            }
            if merged {
                scans = replica.placementScansOfLastMerge
                ok = ok && (text ? replica.textLength() : replica.list(list).count) == items
            } else {
                refused = true
                ok = ok && replica.versionVector == base.versionVector
            }
            let elapsed = ContinuousClock.now - started
            times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        let sorted = times.sorted()
        let result = Result(items: items, concurrent: concurrent, text: text, batchBytes: batch.count, mergeMsMedian: sorted[sorted.count / 2],
                            mergeMsRuns: times, placementScans: scans, refused: refused, ok: ok)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}
