import ArgumentParser

/// Spor's benchmarks, built in release mode: `swift run -c release spor-bench ...`.
@main
struct SporBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor-bench",
        abstract: "Measure Spor on real editing traces and on a large proposal.",
        discussion: """
            Build with -c release; numbers from debug builds are meaningless. Timings are \
            medians over --runs runs on this machine; compare against peers in the same \
            session (see Benchmarks/README.md).
            """,
        subcommands: [TraceBenchmark.self, ProposalBenchmark.self, ClientBenchmark.self, JSONBenchmark.self, TypingTogetherBenchmark.self, ListBenchmark.self, BranchesBenchmark.self]
    )
}
