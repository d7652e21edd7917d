import ArgumentParser
import Foundation
import SporCRDT
import SporDocuments
import SporProposal
import SporWorkloads

/// `spor-bench proposal [--events N] [--runs N] [--json]`: a large proposal opened,
/// validated and exported.
struct ProposalBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proposal",
        abstract: "Open, validate and export a large proposal (20 sections, 30 participants, 200 budget lines).",
        discussion: """
            Builds the proposal deterministically (see ProposalHistory), then prints one \
            JSON object with: events, fileBytes, sectionChars, openMs (decode the file into \
            a document), readMs (read every field into ProposalContent), validateMs (the \
            rules on that content), exportHtmlMs and exportMarkdownMs (render that content), \
            openToHtmlMs (file to HTML page, all steps), memoryBytes (heap held by the open \
            document, with the file bytes it keeps) and findings. Times are medians over --runs.
            """
    )

    @Option(help: "Events of history to build (typing stops once reached).")
    var events = 100_000

    @Option(help: "How many times to measure each step (the median is reported).")
    var runs = 21

    @Option(help: "Seed of the generated history.")
    var seed: UInt64 = 2024

    @Flag(help: "Print only the JSON object.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard events >= 1_000 else { throw ValidationError("--events must be at least 1000") }
    }

    func run() throws {
        let history = try ProposalHistory(seed: seed, targetEvents: events)
        let file = history.proposal.document.encoded()
        let actor = history.proposal.actor
        let now = Date(timeIntervalSince1970: 1_725_000_000)
        var result = ProposalResult()
        result.events = history.proposal.document.eventCount
        result.fileBytes = file.count

        // Opened documents are kept until the measurements end, so that freeing the
        // previous one is not timed as part of opening the next.
        var opened: [Document] = []
        opened.reserveCapacity(2 * runs)
        result.openMs = try median { opened.append(try Document(decoding: file, agent: nil)) }
        let proposal = Proposal(document: opened[0], actor: actor)
        var content = try proposal.content()
        result.readMs = try median { content = try proposal.content() }
        result.sectionChars = Section.allCases.reduce(0) { $0 + content.text($1).unicodeScalars.count }
            + content.extraSections.reduce(0) { $0 + $1.body.unicodeScalars.count }
        result.participants = content.participants.count
        result.budgetLines = content.budget.count
        result.sections = Section.allCases.count - 1 + content.extraSections.count
        var findings: [Finding] = []
        result.validateMs = try median { findings = ProposalRules.validate(content, at: now) }
        result.findings = findings.map(\.code)
        let options = ExportOptions(language: .danish, includeOpenComments: true, now: now)
        var html = ""
        result.exportHtmlMs = try median { html = content.html(options) }
        result.htmlBytes = html.utf8.count
        result.exportMarkdownMs = try median { _ = content.markdown(options) }
        result.openToHtmlMs = try median {
            let document = try Document(decoding: file)
            html = try Proposal(document: document, actor: actor).content().html(options)
            opened.append(document)
        }

        let before = Measurement.heapBytesInUse()
        let loaded = try Document(decoding: file.withUnsafeBufferPointer { Array($0) })
        let after = Measurement.heapBytesInUse()
        withExtendedLifetime(loaded) {}
        withExtendedLifetime(opened) {}
        result.memoryBytes = max(0, after - before)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
        if !json { FileHandle.standardError.write(Data(result.summary.utf8)) }
    }

    private func median(_ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<runs { times.append(try Measurement.milliseconds(body)) }
        return Measurement.median(times)
    }
}

/// The JSON object `spor-bench proposal` prints.
struct ProposalResult: Encodable {
    var events = 0
    var fileBytes = 0
    var sections = 0
    var sectionChars = 0
    var participants = 0
    var budgetLines = 0
    var openMs = 0.0
    var readMs = 0.0
    var validateMs = 0.0
    var exportHtmlMs = 0.0
    var exportMarkdownMs = 0.0
    var openToHtmlMs = 0.0
    var htmlBytes = 0
    var memoryBytes = 0
    var findings: [String] = []

    var summary: String {
        func ms(_ value: Double) -> String { String(format: "%.3f ms", value) }
        return """
            proposal: \(events) events, \(sections) sections (\(sectionChars) characters), \(participants) participants, \(budgetLines) budget lines, \(fileBytes)-byte file
              open          \(ms(openMs)), \(memoryBytes) bytes of heap
              read fields   \(ms(readMs))
              validate      \(ms(validateMs)) (\(findings.count) findings: \(findings.joined(separator: ", ")))
              export HTML   \(ms(exportHtmlMs)) (\(htmlBytes) bytes), Markdown \(ms(exportMarkdownMs))
              file to HTML  \(ms(openToHtmlMs))

            """
    }
}
