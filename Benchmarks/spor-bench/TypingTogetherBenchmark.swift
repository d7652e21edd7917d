import ArgumentParser
import Foundation
import SporWorkloads
import SporCRDT

/// `spor-bench together`: partners typing in one text at the same time, each seeing
/// the others' keystrokes a few keystrokes late — the history of a busy shared
/// document, and of the relay load test once relays fall behind. Such a history
/// has no critical version for long stretches, the worst case of Eg-walker without
/// kept merge state.
struct TypingTogetherBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "together",
        abstract: "Partners type in one text concurrently, seeing each other late; time every replica's merges.",
        discussion: """
            One simulated keystroke per tick, by a random writer, at the end of the text \
            or (with --random-positions) anywhere. Every keystroke is one change batch. It \
            reaches every other writer after a random delay of --lag-min...--lag-max \
            ticks, in the relay's order; before typing, a writer merges everything that \
            has arrived, in one call (as `spor-loadgen relay` does). A relay replica (the \
            server's) merges every batch as it is made. Prints one JSON object: the time \
            spent merging by all writers and by the relay, in total and per slice of \
            --slice keystrokes (flat slices: each merge costs the same late in the history \
            as early; growing slices: merges replay history), and ok (every replica ends \
            with the same text). Deterministic for --seed.
            """
    )

    @Option(help: "Writers typing at the same time.") var writers = 10
    @Option(help: "Keystrokes in total.") var keystrokes = 20_000
    @Option(help: "Fewest ticks before a keystroke reaches a partner.") var lagMin = 0
    @Option(help: "Most ticks before a keystroke reaches a partner.") var lagMax = 30
    @Option(help: "Keystrokes per reported slice.") var slice = 2_000
    @Option(help: "Seed of the simulation.") var seed: UInt64 = 1
    @Flag(help: "Type at random positions instead of at the end.") var randomPositions = false

    func validate() throws {
        guard writers >= 2 else { throw ValidationError("--writers must be at least 2") }
        guard keystrokes >= 1, slice >= 1 else { throw ValidationError("--keystrokes and --slice must be positive") }
        guard 0 <= lagMin, lagMin <= lagMax else { throw ValidationError("need 0 <= --lag-min <= --lag-max") }
    }

    struct Result: Encodable {
        var writers: Int
        var keystrokes: Int
        var lagMin: Int
        var lagMax: Int
        var seed: UInt64
        var writerMergeMs = 0.0
        var relayMergeMs = 0.0
        var writerMergeMsPerSlice: [Double] = []
        var relayMergeMsPerSlice: [Double] = []
        /// Text merges that went on from the kept merge state, and those that replayed.
        var mergesContinued = 0
        var mergesReplayed = 0
        var finalChars = 0
        var ok = true
    }

    func run() throws {
        var random = SeededGenerator(state: seed)
        var documents = try (0..<writers).map { try Document(agent: AgentID("writer-\($0)")) }
        var relay = Document()
        // inbox[w]: batches on their way to writer w, with the tick they arrive, in the
        // relay's order (a later batch never overtakes an earlier one, as on one
        // connection to the server).
        var inbox = [[(arrives: Int, batch: [UInt8])]](repeating: [], count: writers)
        var lastArrival = [Int](repeating: 0, count: writers)
        var result = Result(writers: writers, keystrokes: keystrokes, lagMin: lagMin, lagMax: lagMax, seed: seed)
        var writerSlice = 0.0, relaySlice = 0.0
        for tick in 0..<keystrokes {
            let writer = Int.random(in: 0..<writers, using: &random)
            let arrived = inbox[writer].filter { $0.arrives <= tick }.map(\.batch)
            inbox[writer].removeAll { $0.arrives <= tick }
            if !arrived.isEmpty {
                writerSlice += try Measurement.milliseconds { _ = try documents[writer].merge(encodedChanges: arrived) }
            }
            let before = documents[writer].versionVector
            let length = documents[writer].textLength()
            let position = randomPositions ? Int.random(in: 0...length, using: &random) : length
            try documents[writer].insert("x", at: position)
            let batch = try documents[writer].encodedChanges(since: before)
            relaySlice += try Measurement.milliseconds { _ = try relay.merge(encodedChanges: batch) }
            for partner in 0..<writers where partner != writer {
                let arrives = max(tick + Int.random(in: lagMin...lagMax, using: &random), lastArrival[partner])
                lastArrival[partner] = arrives
                inbox[partner].append((arrives, batch))
            }
            if (tick + 1) % slice == 0 || tick + 1 == keystrokes {
                result.writerMergeMsPerSlice.append(writerSlice)
                result.relayMergeMsPerSlice.append(relaySlice)
                result.writerMergeMs += writerSlice
                result.relayMergeMs += relaySlice
                writerSlice = 0
                relaySlice = 0
            }
        }
        // Deliver everything still on its way; every replica must show the same text.
        for writer in 0..<writers where !inbox[writer].isEmpty {
            _ = try documents[writer].merge(encodedChanges: inbox[writer].map(\.batch))
        }
        let text = relay.text()
        result.finalChars = relay.textLength()
        result.ok = documents.allSatisfy { $0.text() == text }
        for document in documents + [relay] {
            result.mergesContinued += document.mergeCounters.continued
            result.mergesReplayed += document.mergeCounters.replayed
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
        if !result.ok { throw ExitCode(1) }
    }
}
