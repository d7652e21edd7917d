import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporProposal

/// Which organisation each agent of `content` acts for, as a display name.
func organisationNames(_ content: ProposalContent) -> (AgentID) -> String {
    { agent in
        let organisation = Proposal.organisation(of: agent)
        return Organisation.withCode(organisation)?.officialName ?? organisation
    }
}

func displayName(_ organisation: String?) -> String {
    guard let organisation else { return "?" }
    return Organisation.withCode(organisation)?.officialName ?? organisation
}

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log",
        abstract: "Who changed the proposal, newest first, with the version after each change.",
        discussion: "A version printed here can be given to `spor diff --since`.")
    @Argument(help: "The proposal's id.") var id: String
    @Option(help: "Show at most this many entries.") var limit = 50
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let proposal = try context.workspace.proposal(id)
        let content = try proposal.content()
        let name = organisationNames(content)
        let runs = Array(try proposal.document.eventRuns().reversed().prefix(max(0, limit)))
        Output.emit(options, json: {
            ["id": id, "entries": runs.map { run in
                ["agent": run.agent.name, "organisation": ProposalSchema.organisation(of: run.agent) ?? NSNull(),
                 "firstSeq": run.seqs.lowerBound, "events": run.seqs.count, "version": run.last.description] as [String: Any]
            }] as [String: Any]
        }, text: {
            runs.map { run in
                let count = run.seqs.count
                let events = count == 1 ? context.language.text("1 hændelse", "1 event")
                                        : context.language.text("\(count) hændelser", "\(count) events")
                return "\(run.last)  \(name(run.agent))  \(events)"
            }.joined(separator: "\n")
        })
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff",
        abstract: "What changed since a version or the latest submission, and who changed it.",
        discussion: "VERSION is what `spor log` prints (agent@seq, several joined by commas).")
    @Argument(help: "The proposal's id.") var id: String
    @Option(help: "A version, or \"submitted\" (the latest submission; the default).") var since = "submitted"
    @OptionGroup var options: GlobalOptions

    /// A change of a field or a list item between two versions: `+` added, `-`
    /// removed, `~` changed.
    struct FieldChange {
        let field: String
        let kind: String
        let before: String
        let after: String
    }

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let proposal = try context.workspace.proposal(id)
        let content = try proposal.content()
        let version = try Self.version(since, of: content, id: id)
        let before: ProposalContent
        do {
            before = try proposal.content(at: version)
        } catch {
            throw CommandFailure.badInput("\(id) has no version \(since)", hint: "`spor log \(id)` lists versions.")
        }
        var sectionChanges: [(Section, [Proposal.SectionChange])] = []
        for section in Section.allCases where before.text(section) != content.text(section) {
            sectionChanges.append((section, try proposal.changes(in: section, from: version).filter { $0.kind != .unchanged }))
        }
        let fields = Self.fieldChanges(from: before, to: content)
        Output.emit(options, json: {
            ["id": id, "since": Output.version(version),
             "sections": Dictionary(uniqueKeysWithValues: sectionChanges.map { section, changes in
                 (section.key, changes.map { ["kind": $0.kind.rawValue, "text": $0.text, "organisation": $0.organisation ?? NSNull()] as [String: Any] })
             }),
             "fields": fields.map { ["field": $0.field, "change": $0.kind, "before": $0.before, "after": $0.after] }] as [String: Any]
        }, text: {
            guard !sectionChanges.isEmpty || !fields.isEmpty else {
                return context.language.text("Ingen ændringer siden \(Output.version(version)).", "No changes since \(Output.version(version)).")
            }
            var lines: [String] = []
            for change in fields {
                switch change.kind {
                case "+": lines.append("+ \(change.field): \(change.after)")
                case "-": lines.append("- \(change.field): \(change.before)")
                default: lines.append("~ \(change.field): \(change.before) → \(change.after)")
                }
            }
            for (section, changes) in sectionChanges {
                lines.append("## \(section.englishTitle) [\(section.key)]")
                for change in changes {
                    lines.append("\(change.kind == .inserted ? "+" : "-") \(displayName(change.organisation)): \(change.text)")
                }
            }
            return lines.joined(separator: "\n")
        })
    }

    /// The scalar fields and list items that differ between `before` and `after`;
    /// list items are matched by their ids, so an edited line reads as changed.
    static func fieldChanges(from before: ProposalContent, to after: ProposalContent) -> [FieldChange] {
        var changes: [FieldChange] = []
        if before.amountRequested != after.amountRequested {
            changes.append(.init(field: "amountRequested", kind: "~", before: Output.kroner(before.amountRequested), after: Output.kroner(after.amountRequested)))
        }
        if before.roundID != after.roundID {
            changes.append(.init(field: "round", kind: "~", before: before.roundID ?? "–", after: after.roundID ?? "–"))
        }
        func items<T>(_ field: String, _ old: [T], _ new: [T], id: (T) -> ListItemID, describe: (T) -> String) {
            let oldByID = Dictionary(old.map { (id($0), $0) }, uniquingKeysWith: { first, _ in first })
            let newIDs = Set(new.map(id))
            for item in old where !newIDs.contains(id(item)) {
                changes.append(.init(field: field, kind: "-", before: describe(item), after: ""))
            }
            for item in new {
                guard let previous = oldByID[id(item)] else {
                    changes.append(.init(field: field, kind: "+", before: "", after: describe(item)))
                    continue
                }
                if describe(previous) != describe(item) {
                    changes.append(.init(field: field, kind: "~", before: describe(previous), after: describe(item)))
                }
            }
        }
        items("participants", before.participants, after.participants, id: \.id) { participant in
            "\(participant.organisation?.name ?? "?") (\(participant.role?.englishName.lowercased() ?? "no role"))"
                + (participant.cofinancingCash > 0 ? ", \(Output.kroner(participant.cofinancingCash))" : "")
                + (participant.cofinancingHours > 0 ? ", \(participant.cofinancingHours) hours" : "")
        }
        items("budget", before.budget, after.budget, id: \.id) { line in
            "\(line.item): \(Output.kroner(line.amount)) (\(line.source?.rawValue ?? "?"), \(line.year.map(String.init) ?? "?"))"
        }
        items("milestones", before.milestones, after.milestones, id: \.id) { "\($0.date?.description ?? "?") \($0.title)" }
        items("comments", before.comments, after.comments, id: \.id) { "\($0.author): \($0.text)\($0.resolved ? " (resolved)" : "")" }
        return changes
    }

    /// `text` as a version of the proposal: "submitted" (its latest submission) or
    /// what `spor log` prints.
    static func version(_ text: String, of content: ProposalContent, id: String) throws -> Version {
        guard text == "submitted" else { return try parseVersion(text) }
        guard let submission = content.submissions.max(by: { $0.submittedAt < $1.submittedAt }) else {
            throw CommandFailure.badInput("\(id) has not been submitted yet", hint: "Give a version from `spor log \(id)` instead.")
        }
        return submission.version
    }

    static func parseVersion(_ text: String) throws -> Version {
        var heads: [EventID] = []
        for part in text.split(separator: ",") {
            guard let at = part.lastIndex(of: "@"), let seq = Int(part[part.index(after: at)...]), seq >= 0,
                  let agent = try? AgentID(String(part[..<at])) else {
                throw CommandFailure.badInput("\(String(reflecting: text)) is not a version", hint: "Versions look like 0751/abc@41 (from `spor log`), or use --since submitted.")
            }
            heads.append(EventID(agent: agent, seq: seq))
        }
        return Version(heads: heads)
    }
}

struct Blame: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blame", abstract: "Which organisation wrote each part of a section.")
    @Argument(help: "The proposal's id.") var id: String
    @Argument(help: "The section.") var section: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let section = try context.section(section)
        let runs = try context.workspace.proposal(id).attribution(of: section)
        Output.emit(options, json: {
            ["id": id, "section": section.key, "runs": runs.map { ["organisation": $0.organisation, "text": $0.text] }] as [String: Any]
        }, text: {
            guard !runs.isEmpty else {
                return context.language.text("\(context.language.title(of: section)) er tomt.", "\(context.language.title(of: section)) is empty.")
            }
            let width = runs.map { displayName($0.organisation).count }.max() ?? 0
            var lines: [String] = []
            for run in runs {
                let name = displayName(run.organisation)
                for line in run.text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                    lines.append("\(name.padding(toLength: width, withPad: " ", startingAt: 0)) | \(line)")
                }
            }
            return lines.joined(separator: "\n")
        })
    }
}

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "conflicts",
        abstract: "List fields that partners set to different values at the same time, and resolve them.",
        discussion: """
            Texts never conflict (both edits are kept); a field such as amountRequested does when two \
            organisations set it concurrently. Resolve with --resolve FIELD and either --pick N (a \
            candidate's number) or --value VALUE; the choice syncs to everyone.
            """)
    @Argument(help: "The proposal's id.") var id: String
    @Option(help: "The conflicting field to resolve.") var resolve: String?
    @Option(help: "The number of the candidate to keep.") var pick: Int?
    @Option(help: "The value to set instead.") var value: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let content = try context.workspace.proposal(id).content()
        let name = organisationNames(content)
        guard let field = resolve else {
            Output.emit(options, json: { ["id": id, "conflicts": content.conflicts.map(ContentJSON.conflict)] as [String: Any] }, text: {
                guard !content.conflicts.isEmpty else { return context.language.text("Ingen konflikter.", "No conflicts.") }
                return content.conflicts.map { conflict in
                    (["\(conflict.field):"] + conflict.candidates.enumerated().map { "  \($0.offset + 1). \(String(reflecting: $0.element.value)) — \(name($0.element.author))" })
                        .joined(separator: "\n")
                }.joined(separator: "\n") + "\nResolve with: spor conflicts \(id) --resolve FIELD --pick N"
            })
            return
        }
        guard let conflict = content.conflicts.first(where: { $0.field == field }) else {
            throw CommandFailure(message: "\(field) has no conflict", hint: content.conflicts.isEmpty ? "There are no conflicts."
                                    : "Conflicting fields: \(content.conflicts.map(\.field).joined(separator: ", ")).",
                                 name: "unknownField", exitCode: 2)
        }
        let chosen: String
        switch (pick, value) {
        case let (number?, nil):
            guard number >= 1, number <= conflict.candidates.count else {
                throw CommandFailure.badInput("there is no candidate \(number); numbers are 1-\(conflict.candidates.count)")
            }
            chosen = conflict.candidates[number - 1].value
        case let (nil, value?):
            chosen = value
        default:
            throw CommandFailure.badInput("give either --pick N or --value VALUE")
        }
        guard Proposal.settableFields.contains(field) else {
            throw CommandFailure.badInput("\(field) is a field of a list item", hint: "Remove the item and add it again with the right values.")
        }
        let calendar = context.calendar
        try context.workspace.change(id, now: context.now) { proposal in try proposal.set(field, to: chosen, calendar: calendar) }
        Output.emit(options, json: { ["id": id, "field": field, "value": chosen] }, text: { "Resolved \(field): \(chosen)." })
    }
}
