import Foundation
import SporCRDT
import SporProposal
import SporTestSupport
import Testing
@testable import SporClient

/// A workspace directory copied, or restored from an old backup, and both copies
/// used: everything typed in either reaches the partners, nothing is merged as a
/// duplicate of something else, and the copies and partners converge. Real
/// `spor-server` process; workspaces copied as directories (what the README says a
/// backup is).
@Suite("copied and restored workspaces", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct WorkspaceCopyTests {
    /// A copy of `workspace`'s directory, opened as a workspace. A copied file is
    /// another file: the copy takes a new agent when it opens. With `keepingIdentity`
    /// it writes as its original's agent, as a copy does that the workspace cannot
    /// tell from its original by the file (a restored disk image): then only the
    /// server can find it.
    static func copy(_ workspace: Workspace, keepingIdentity: Bool = false) throws -> Workspace {
        let target = temporaryDirectory()
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: workspace.directory, toPath: target)
        let copy = try Workspace(directory: target)
        if keepingIdentity { try copy.adoptAgent(try workspace.identity().agent) }
        return copy
    }

    static func shared(_ partners: Partners) async throws -> String {
        let id = try partners.aarhus.createProposal(title: "Grønne tage", roundID: "2024-spring", now: february2024)
        try partners.aarhus.change(id) { try $0.setSection(.summary, to: "Tre parter tester grønne tage.\n") }
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        try partners.aarhus.queueMember(.add("1082", .partner), of: id)
        try await partners.sync(partners.aarhus)
        try await partners.sync(partners.odense)
        return id
    }

    @Test("a copy and its original both edit and sync: both copies' text reaches everyone",
          arguments: [false, true])
    func copyAndOriginal(keepingIdentity: Bool) async throws {
        let partners = try await Partners.start()
        let id = try await Self.shared(partners)
        let original = partners.aarhus
        let copy = try Self.copy(original, keepingIdentity: keepingIdentity)
        #expect((try copy.identity().agent == original.identity().agent) == keepingIdentity)
        // Both edit offline under the same agent, then the copy syncs first.
        try original.change(id) { try $0.setSection(.anchoring, to: "Forankres i kommunens klimaplan.\n") }
        try copy.change(id) { try $0.setSection(.risks, to: "Leverandører kan blive forsinket.\n") }
        try copy.change(id) { try $0.setSection(.summary, to: "Tre parter tester grønne tage i Aarhus.\n") }
        let copyReport = try await partners.sync(copy)
        #expect(copyReport.forks.isEmpty)
        let originalReport = try await partners.sync(original)
        if keepingIdentity {
            // Found by the server's events under the same agent; repaired.
            let fork = try #require(originalReport.forks.first, "the original did not notice the copy")
            #expect(fork.document == id && fork.divergedAt != nil && fork.reissuedEvents > 0)
            #expect(fork.newAgent != fork.agent)
            #expect(try original.identity().agent.name == fork.newAgent, "the original writes under its new agent")
        } else {
            #expect(originalReport.forks.isEmpty, "the copy wrote under its own agent: nothing to repair")
        }
        #expect(originalReport.outboxRemaining == 0 && originalReport.refusals.isEmpty, "\(originalReport.refusals)")
        for workspace in [copy, partners.odense, original, copy] { try await partners.sync(workspace) }

        let contents = try [original, copy, partners.odense].map { try $0.proposal(id).content() }
        #expect(contents[0] == contents[1] && contents[1] == contents[2])
        #expect(contents[0].text(.anchoring) == "Forankres i kommunens klimaplan.\n", "the original's text was lost")
        #expect(contents[0].text(.risks) == "Leverandører kan blive forsinket.\n")
        #expect(contents[0].text(.summary) == "Tre parter tester grønne tage i Aarhus.\n")
        #expect(try serverEvents(partners.server, id) == (try partners.odense.document(id).eventCount))

        // Both keep working without finding each other again.
        try original.change(id) { try $0.setSection(.activities, to: "Workshops.\n") }
        try copy.change(id) { try $0.setSection(.challenge, to: "Skybrud.\n") }
        let later = [try await partners.sync(original), try await partners.sync(copy), try await partners.sync(original)]
        #expect(later.allSatisfy { $0.forks.isEmpty && $0.refusals.isEmpty })
        #expect(try original.proposal(id).content() == (try copy.proposal(id).content()))
        #expect(try copy.proposal(id).content().text(.activities) == "Workshops.\n")
    }

    @Test("an old backup restored after later syncs keeps the later changes and sends what is typed after the restore",
          arguments: [false, true])
    func restoredBackup(keepingIdentity: Bool) async throws {
        let partners = try await Partners.start()
        let id = try await Self.shared(partners)
        // (Copied aside, restored by copying back: the restored file is another file.)
        let backup = try Self.copy(partners.aarhus, keepingIdentity: keepingIdentity)
        // The workspace goes on after the backup: edits and syncs twice; then the
        // machine is lost, and the backup is restored.
        try partners.aarhus.change(id) { try $0.setSection(.anchoring, to: "Forankres i klimaplanen.\n") }
        try await partners.sync(partners.aarhus)
        try partners.aarhus.change(id) { try $0.setSection(.risks, to: "Forsinkelser.\n") }
        try await partners.sync(partners.aarhus)
        let restored = backup
        try restored.change(id) { try $0.setSection(.summary, to: "Tre parter tester grønne tage efter gendannelsen.\n") }
        let report = try await partners.sync(restored)
        if keepingIdentity {
            let fork = try #require(report.forks.first, "the restored backup did not notice the server has its later changes")
            #expect(fork.document == id && fork.reissuedEvents > 0)
        } else {
            #expect(report.forks.isEmpty)
        }
        #expect(report.refusals.isEmpty && report.outboxRemaining == 0, "\(report.refusals)")
        try await partners.sync(partners.odense)
        for workspace in [restored, partners.odense] {
            let content = try workspace.proposal(id).content()
            #expect(content.text(.anchoring) == "Forankres i klimaplanen.\n")
            #expect(content.text(.risks) == "Forsinkelser.\n")
            #expect(content.text(.summary) == "Tre parter tester grønne tage efter gendannelsen.\n")
        }
        #expect(try restored.proposal(id).content() == (try partners.odense.proposal(id).content()))
    }

    @Test("a submission queued in a restored disk image that names re-issued events is not sent, and the sync says so")
    func queuedStepOnForkedEvents() async throws {
        let partners = try await Partners.start()
        let id = try await Self.shared(partners)
        let backup = try Self.copy(partners.aarhus, keepingIdentity: true)
        try partners.aarhus.change(id) { try $0.setSection(.anchoring, to: "Forankres.\n") }
        try await partners.sync(partners.aarhus)
        // The restored image edits and submits offline: the submission names its own new events.
        try backup.change(id) { try $0.setSection(.risks, to: "Forsinkelser.\n") }
        let vector = try backup.document(id).versionVector
        var version: [String: Int] = [:]
        for agent in vector.agents { version[agent.name] = vector[agent] }
        try backup.queueStep(StepRequest(kind: .submitForQualification, version: version), of: id)
        let report = try await partners.sync(backup)
        let fork = try #require(report.forks.first)
        #expect(fork.reissuedEvents > 0 && fork.droppedSteps == [.submitForQualification], "\(fork)")
        #expect(try backup.outbox().allSatisfy { if case .step = $0.kind { false } else { true } })
        #expect(report.recordedSteps.isEmpty && report.refusals.isEmpty, "\(report.recordedSteps) \(report.refusals)")
        try await partners.sync(partners.odense)
        let content = try partners.odense.proposal(id).content()
        #expect(content.submissions.isEmpty, "a version nobody saw was certified")
        #expect(content.text(.risks) == "Forsinkelser.\n" && content.text(.anchoring) == "Forankres.\n")
    }

    @Test("a restored disk image with nothing new only takes a new agent")
    func restoredUntouched() async throws {
        let partners = try await Partners.start()
        let id = try await Self.shared(partners)
        let backup = try Self.copy(partners.aarhus, keepingIdentity: true)
        try partners.aarhus.change(id) { try $0.setSection(.anchoring, to: "Forankres.\n") }
        try await partners.sync(partners.aarhus)
        let before = try backup.identity().agent
        let report = try await partners.sync(backup)
        let fork = try #require(report.forks.first)
        #expect(fork.divergedAt == nil && fork.reissuedEvents == 0 && fork.agent == before.name)
        #expect(try backup.identity().agent != before)
        #expect(try backup.proposal(id).content().text(.anchoring) == "Forankres.\n")
        // Its next edit is under the new agent and syncs.
        try backup.change(id) { try $0.setSection(.risks, to: "Ingen.\n") }
        let next = try await partners.sync(backup)
        #expect(next.forks.isEmpty && next.refusals.isEmpty && next.outboxRemaining == 0)
    }

    /// Random edits, syncs, copies and restores of three organisations' workspaces
    /// (each edit appends a unique word to a random section): at the end every word
    /// any workspace saved is in every workspace, and all of them show the same proposal.
    /// Copies are of both kinds (see ``copy(_:keepingIdentity:)``). Each word starts
    /// with a character of its own: two copies that type the very same characters at
    /// the same place right after copying make the very same events, which nothing
    /// can tell apart (they are kept once).
    @Test("random copies and restores among edits and syncs never lose a saved change and converge",
          arguments: propertySeeds(4, base: 0xC0_B1E5))
    func randomCopiesAndRestores(seed: UInt64) async throws {
        print("workspace-copies seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter WorkspaceCopyTests)")
        var random = SeededRandom(seed: seed)
        let partners = try await Partners.start()
        let id = try await Self.shared(partners)
        try await partners.sync(partners.midtjylland)
        // Live workspaces (copies join), and old backups of each.
        // Aarhus's workspace is copied at once, so that every run has two copies writing.
        var live: [Workspace] = [partners.aarhus, partners.odense, try Self.copy(partners.aarhus, keepingIdentity: true)]
        var forks = 0
        var backups: [(of: Int, copy: Workspace)] = []
        var words: [String] = []
        let sections: [Section] = [.summary, .challenge, .activities, .anchoring]
        for step in 0..<24 {
            let index = Int.random(in: 0..<live.count, using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let word = "\(Character(UnicodeScalar(UInt8(65 + step))))ord\(step)"
                let section = sections.randomElement(using: &random) ?? .summary
                try live[index].change(id) { proposal in
                    try proposal.setSection(section, to: try proposal.content().text(section) + word + " ")
                }
                words.append(word)
            case 5..<8:
                let report = try await partners.sync(live[index])
                forks += report.forks.count
                #expect(report.refusals.isEmpty, "seed \(seed) step \(step): \(report.refusals)")
            case 8:
                // Another copy of a workspace's directory, used from now on as well.
                if live.count < 6 { live.append(try Self.copy(live[index], keepingIdentity: Bool.random(using: &random))) }
                backups.append((index, try Self.copy(live[index], keepingIdentity: true)))
            default:
                // The machine is lost after its last sync; an older backup of it is restored.
                guard let backup = backups.last(where: { $0.of == index }) else { continue }
                try await partners.sync(live[index])
                live[index] = try Self.copy(backup.copy, keepingIdentity: Bool.random(using: &random))
            }
        }
        for _ in 0..<2 {
            for workspace in live + [partners.midtjylland] {
                let report = try await partners.sync(workspace)
                forks += report.forks.count
                #expect(report.refusals.isEmpty && report.outboxRemaining == 0, "seed \(seed): \(report.refusals)")
            }
        }
        print("workspace-copies seed \(seed): \(words.count) words, \(live.count) workspaces, \(forks) copies found")
        let expected = try partners.midtjylland.proposal(id).content()
        let text = sections.map { expected.text($0) }.joined(separator: " ")
        for word in words { #expect(text.contains(word + " "), "seed \(seed): \(word) was lost") }
        for (index, workspace) in live.enumerated() {
            #expect(try workspace.proposal(id).content() == expected, "seed \(seed): workspace \(index) diverged")
        }
        #expect(try serverEvents(partners.server, id) == (try partners.midtjylland.document(id).eventCount))
    }
}
