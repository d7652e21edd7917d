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

    struct Result: Encodable {
        var items: Int
        var concurrent: Bool
        var batchBytes: Int
        var mergeMsMedian: Double
        var mergeMsRuns: [Double]
        var ok: Bool
    }

    /// `count` inserts, each at the front (the cheapest to make locally, one run).
    static func writer(_ name: String, count: Int, list: ContainerID) throws -> Document {
        var document = Document(agent: try AgentID(name))
        for index in 0..<count { _ = try document.insert(.int(Int64(index)), at: 0, in: list) }
        return document
    }

    func run() throws {
        let list = try ContainerID.root("items", .list)
        let base: Document
        let batch: [UInt8]
        if concurrent {
            base = try Self.writer("0751/a", count: items / 2, list: list)
            batch = try Self.writer("0751/b", count: items - items / 2, list: list).encodedChanges()
        } else {
            base = Document()
            batch = try Self.writer("0751/a", count: items, list: list).encodedChanges()
        }
        var times: [Double] = []
        var ok = true
        for _ in 0..<runs {
            var replica = base
            let started = ContinuousClock.now
            try replica.merge(encodedChanges: batch)
            let elapsed = ContinuousClock.now - started
            times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            ok = ok && replica.list(list).count == items
        }
        let sorted = times.sorted()
        let result = Result(items: items, concurrent: concurrent, batchBytes: batch.count, mergeMsMedian: sorted[sorted.count / 2],
                            mergeMsRuns: times, ok: ok)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}
