import ArgumentParser
import Foundation
import SporCRDT
import SporDocuments
import SporProposal
import SporWorkloads

/// `spor-bench json [--events N] [--runs N]`: `spor show --json`'s output made from a
/// large proposal's content, today's way and the old way, and compared byte for byte.
struct JSONBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "Time the JSON of a large proposal: typed ProposalJSON + JSONEncoder against the old [String: Any] + hand-written writer.",
        discussion: """
            Builds the proposal of `spor-bench proposal` (ProposalHistory), reads its content \
            once, then prints one JSON object: jsonBytes, encoderMs (ProposalJSON built from \
            the content and written by SporJSON: JSONEncoder and Spor's form), legacyMs (the \
            same content as [String: Any], written by the hand-written writer spor used until \
            December 2026), and identical (the two outputs byte for byte; the run fails if \
            they differ). Medians over --runs, in one process, alternating.
            """
    )

    @Option(help: "Events of history in the proposal.") var events = 100_000
    @Option(help: "Runs per measurement (median reported).") var runs = 51
    @Option(help: "Seed of the generated history.") var seed: UInt64 = 2024

    struct Result: Encodable {
        var events = 0
        var jsonBytes = 0
        var participants = 0
        var budgetLines = 0
        var comments = 0
        var encoderMs = 0.0
        var legacyMs = 0.0
        var identical = false
        var runs = 0
    }

    func run() throws {
        let history = try ProposalHistory(seed: seed, targetEvents: events)
        let content = try history.proposal.content()
        let status = ProcessStatus.draft
        func encoded() throws -> [UInt8] { try SporJSON.encode(ProposalJSON(id: "bigproposal", content: content, status: status)) }
        func legacy() -> [UInt8] {
            var writer = LegacyJSONWriter()
            writer.write(LegacyContentJSON.proposal(id: "bigproposal", content, status: status), indent: 0)
            return writer.output
        }
        let new = try encoded(), old = legacy()
        guard new == old else {
            let at = zip(new, old).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(new.count, old.count)
            let context = { (bytes: [UInt8]) in String(decoding: bytes[max(0, at - 80)..<min(bytes.count, at + 80)], as: UTF8.self) }
            throw ValidationError("the outputs differ at byte \(at):\nencoder: …\(context(new))…\nlegacy:  …\(context(old))…")
        }
        var encoderTimes: [Double] = [], legacyTimes: [Double] = []
        for _ in 0..<runs {
            encoderTimes.append(try Measurement.milliseconds { _ = try encoded() })
            legacyTimes.append(Measurement.milliseconds { _ = legacy() })
        }
        var result = Result()
        result.events = history.proposal.document.eventCount
        result.jsonBytes = new.count
        result.participants = content.participants.count
        result.budgetLines = content.budget.count
        result.comments = content.comments.count
        result.encoderMs = Measurement.median(encoderTimes)
        result.legacyMs = Measurement.median(legacyTimes)
        result.identical = true
        result.runs = runs
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}
