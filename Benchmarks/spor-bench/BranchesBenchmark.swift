import ArgumentParser
import Foundation
import SporTraces
import SporWorkloads

/// `spor-bench branches --width K --events N`: a generated history of K partners
/// drafting on their own branches and pulling each other's work repeatedly
/// (``BranchingHistory``), measured like a recorded trace (`spor-bench trace`).
struct BranchesBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branches",
        abstract: "Generate a history with K concurrent branches and measure it like a trace.",
        discussion: """
            Prints the JSON object of `spor-bench trace` (plus width, seed and \
            mergeNsPerEvent) for the generated history. With --write FILE the history is \
            also written as a concurrent trace (JSON), so ../shared/peers/bench_peers.py \
            can measure Yrs and Loro on exactly the same history. Deterministic for --seed.
            """
    )

    @Option(help: "Branches concurrent at once (2...64).") var width = 4
    @Option(help: "Events in the history.") var events = 200_000
    @Option(help: "Mean events a branch types between two pulls from another branch.") var eventsBetweenPulls = 200
    @Option(help: "How many times to measure each step (the median is reported).") var runs = 5
    @Option(help: "Seed of the generated history.") var seed: UInt64 = 1
    @Option(help: "Also write the history as a trace file (JSON) here.") var write: String?
    @Flag(help: "Print only the JSON object.") var json = false

    func validate() throws {
        guard (2...64).contains(width) else { throw ValidationError("--width must be 2...64") }
        guard events >= 1, runs >= 1, eventsBetweenPulls >= 1 else {
            throw ValidationError("--events, --runs and --events-between-pulls must be positive")
        }
    }

    func run() throws {
        var random = SeededGenerator(state: seed)
        var generator = BranchingHistory(width: width, events: events)
        generator.eventsBetweenPulls = eventsBetweenPulls
        let trace = try generator.generate(named: "branches-\(width)", using: &random)
        if let write {
            guard FileManager.default.createFile(atPath: write, contents: Data(try trace.jsonBytes())) else {
                throw ValidationError("cannot write \(write)")
            }
        }
        var result = TraceResult(trace: trace.name, kind: trace.kind.rawValue, events: trace.eventCount,
                                 finalChars: trace.endContent.unicodeScalars.count)
        result.width = width
        result.seed = seed
        TraceBenchmark.measureAndPrint(trace, runs: runs, into: &result, summary: !json)
        if !result.ok { throw ExitCode(1) }
    }
}
