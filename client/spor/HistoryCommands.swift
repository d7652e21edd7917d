import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporDocuments
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
        abstract: Help.text("Forslagets historik, nyeste først: hver gemnings version, hvem, hvornår og hvad der blev ændret.", "The proposal's history, newest first: each save's version, who, when and what changed."),
        discussion: Help.text("""
            Én linje pr. gemning: en kort version (giv den til `spor diff --since` eller `spor show --at`), \
            organisationen, tidspunktet efter forfatterens ur (dansk tid) og hvad der blev \
            ændret. Kom gemningen til serveren mere end \(Log.receiptShownAfter / 60) minutter senere \
            (eller går et ur forkert), står serverens tid for modtagelsen bagefter (»modtaget …«). \
            Navne givet med `spor tag` står ved deres version.
            """, """
            One line per save: a short version (give it to `spor diff --since` or `spor show --at`), \
            the organisation, the time it was saved by its author's clock (Copenhagen time) and what \
            it changed. When the save reached the server more than \(Log.receiptShownAfter / 60) minutes \
            later (or a clock is wrong), the server's time of receipt follows ("received …"). Names \
            given with `spor tag` are shown beside their version.
            """))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("Vis højst så mange gemninger.", "Show at most this many saves."))) var limit = 50
    @OptionGroup var options: GlobalOptions

    /// How far the server's receipt may be from the author's time (either way) before
    /// the log shows both, in seconds: a save synced at once shows one time.
    static let receiptShownAfter: TimeInterval = 5 * 60

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let proposal = try context.workspace.proposal(id)
        let saves = Array(try proposal.saves().reversed().prefix(max(0, limit)))
        // A save reached the server when its last event was stored.
        let received = try context.workspace.storedTimes(of: id, for: saves.map(\.last))
        let names = Dictionary(grouping: proposal.namedVersions(), by: \.version)
        let summary = SaveSummary(language: context.language)
        // Content at each version once: a linear history's "after" is the next save's "before".
        var contents: [Version: ProposalContent] = [:]
        func content(at version: Version) throws -> ProposalContent {
            if let known = contents[version] { return known }
            let read = try proposal.content(at: version)
            contents[version] = read
            return read
        }
        struct Entry {
            let save: Proposal.Save
            let what: String
        }
        var entries: [Entry] = []
        for save in saves {
            let before = try proposal.document.version(before: save.first)
            entries.append(Entry(save: save, what: summary.describe(from: try content(at: before), to: try content(at: save.version))))
        }
        Output.emit(options, paged: true, json: {
            LogJSON(id: id, saves: entries.map { entry in
                LogJSON.Save(version: VersionName.short(entry.save.version), heads: entry.save.version.heads.map(\.description),
                             organisation: entry.save.organisation, agent: entry.save.agent.name, events: entry.save.seqs.count,
                             savedAt: SporJSON.iso(entry.save.savedAt), receivedAt: SporJSON.iso(received[entry.save.last]),
                             changes: entry.what, names: (names[entry.save.version] ?? []).map(\.name))
            }, names: proposal.namedVersions().map {
                LogJSON.Name(name: $0.name, version: VersionName.short($0.version), heads: $0.version.heads.map(\.description))
            })
        }, text: {
            guard !entries.isEmpty else { return context.language.text("Ingen gemte ændringer.", "No saves.") }
            return entries.map { entry in
                let who = entry.save.organisation.map(displayName) ?? context.language.text("Serveren", "The server")
                let when = Self.when(saved: entry.save.savedAt, received: received[entry.save.last], byServer: entry.save.organisation == nil,
                                     language: context.language, now: context.now)
                let named = (names[entry.save.version] ?? []).map { context.language.text("»\($0.name)«", "\"\($0.name)\"") }
                    .joined(separator: ", ")
                return "\(VersionName.short(entry.save.version))  \(who) · \(when) · \(entry.what)" + (named.isEmpty ? "" : "  \(named)")
            }.joined(separator: "\n")
        })
    }
}

extension Log {
    /// When a save was made, as the log shows it: the author's time; the server's
    /// receipt after it when the two are more than ``receiptShownAfter`` apart; the
    /// receipt alone for a save with no author's time (the server's own records, made
    /// when it stored them, and saves from before save times were recorded).
    static func when(saved: Date?, received: Date?, byServer: Bool, language: Language, now: Date?) -> String {
        func time(_ date: Date) -> String { Output.time(date, language: language, omittingYearOf: now) }
        let receipt = received.map { language.text("modtaget \(time($0))", "received \(time($0))") }
        switch (saved, received) {
        case let (saved?, received?) where abs(received.timeIntervalSince(saved)) > receiptShownAfter:
            return "\(time(saved)), \(receipt ?? "")"
        case let (saved?, _):
            return time(saved)
        case let (nil, received?):
            return byServer ? time(received) : receipt ?? ""
        case (nil, nil):
            return "–"
        }
    }
}

/// A version as a person names it on the command line: "submitted" (the latest
/// submission), a name from `spor tag`, a short version from `spor log` (its first 4
/// to 8 characters), or heads (`agent@seq,…`).
enum VersionReference {
    static func resolve(_ text: String, proposal: Proposal, content: ProposalContent, id: String, language: Language) throws -> Version {
        let say = language.text
        if text == "submitted" || text == "afleveret" {
            guard let submission = content.submissions.max(by: { $0.submittedAt < $1.submittedAt }) else {
                throw CommandFailure.badInput(say("\(id) er ikke afleveret endnu", "\(id) has not been submitted yet"),
                                              hint: say("Giv en version fra `spor log \(id)` i stedet.", "Give a version from `spor log \(id)` instead."))
            }
            return submission.version
        }
        let named = proposal.namedVersions()
        if let version = named.first(where: { $0.name == text })?.version { return version }
        if VersionName.isShortName(text) {
            var candidates = try proposal.saves().map(\.version) + named.map(\.version) + content.submissions.map(\.version)
            candidates.append(content.version)
            switch VersionName.resolve(text, among: candidates) {
            case let .found(version): return version
            case let .ambiguous(versions):
                throw CommandFailure.badInput(say("\(text) passer på flere versioner", "\(text) matches several versions"),
                                              hint: say("Skriv flere tegn: ", "Give more characters: ")
                                                  + versions.map(VersionName.short).joined(separator: ", ") + ".")
            case .none: break
            }
        }
        if text.contains("@"), let version = Proposal.version(text) { return version }
        throw CommandFailure.badInput(say("\(id) har ingen version \(String(reflecting: text))", "\(id) has no version \(String(reflecting: text))"),
                                      hint: say("Versioner står i `spor log \(id)`, navne i `spor tag \(id)`; eller brug »submitted«.",
                                                "`spor log \(id)` lists versions and `spor tag \(id)` names; or use \"submitted\"."))
    }
}

struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag",
        abstract: Help.text("Navngiv en version af forslaget for alle partnere (»til styregruppen«), eller vis navnene.", "Name a version of the proposal for every partner (\"til styregruppen\"), or list the names."),
        discussion: Help.text("Et navn kan bruges overalt, hvor der spørges om en version: `spor diff ID --since NAVN`, `spor show ID --at NAVN`.", "A name can be given wherever a version is asked for: `spor diff ID --since NAME`, `spor show ID --at NAME`."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Navnet; uden det vises navnene.", "The name; without it, the names are listed."))) var name: String?
    @Option(help: ArgumentHelp(Help.text("Den version, der skal navngives (fra `spor log`; standard: den nuværende).", "The version to name (from `spor log`; default: the current one)."))) var at: String?
    @Flag(help: ArgumentHelp(Help.text("Fjern navnet.", "Remove the name."))) var remove = false
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let say = context.language.text
        let proposal = try context.workspace.proposal(id)
        guard let name else {
            let names = proposal.namedVersions()
            Output.emit(options, json: {
                TagsJSON(id: id, names: names.map { TagsJSON.Name(name: $0.name, version: VersionName.short($0.version), organisation: $0.organisation) })
            }, text: {
                guard !names.isEmpty else { return say("Ingen navngivne versioner: `spor tag \(id) NAVN` navngiver den nuværende.",
                                                        "No named versions: `spor tag \(id) NAME` names the current one.") }
                return names.map { "\(VersionName.short($0.version))  \($0.name)  (\(displayName($0.organisation)))" }.joined(separator: "\n")
            })
            return
        }
        let content = try proposal.content()
        let version = try at.map { try VersionReference.resolve($0, proposal: proposal, content: content, id: id, language: context.language) }
        try context.workspace.change(id, now: context.now) { proposal in
            if remove { try proposal.removeVersionName(name) } else { try proposal.nameVersion(name, version) }
        }
        let short = VersionName.short(version ?? content.version)
        Output.emit(options, json: { TaggedJSON(id: id, name: name, version: remove ? nil : short, removed: remove) },
                    text: { remove ? say("Navnet »\(name)« er fjernet.", "Removed the name \"\(name)\".")
                                   : say("Version \(short) hedder nu »\(name)«.", "Version \(short) is now named \"\(name)\".") })
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff",
        abstract: Help.text("Hvad der er ændret siden en version eller seneste aflevering, og af hvem.", "What changed since a version or the latest submission, and who changed it."),
        discussion: Help.text("VERSION er en kort version fra `spor log`, et navn fra `spor tag` eller \"submitted\" (seneste aflevering).", "VERSION is a short version from `spor log`, a name from `spor tag`, or \"submitted\"."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("En version fra `spor log`, et navn fra `spor tag` eller »submitted« (seneste aflevering; standard).", "A version from `spor log`, a name from `spor tag`, or \"submitted\" (the latest submission; the default)."))) var since = "submitted"
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
        let version = try VersionReference.resolve(since, proposal: proposal, content: content, id: id, language: context.language)
        let before: ProposalContent
        do {
            before = try proposal.content(at: version)
        } catch {
            throw CommandFailure.badInput(Help.text("\(id) har ingen version \(since)", "\(id) has no version \(since)"), hint: Help.text("`spor log \(id)` viser versionerne.", "`spor log \(id)` lists versions."))
        }
        var sectionChanges: [(Section, [Proposal.SectionChange])] = []
        for section in Section.allCases where before.text(section) != content.text(section) {
            sectionChanges.append((section, try proposal.changes(in: section, from: version).filter { $0.kind != .unchanged }))
        }
        let fields = Self.fieldChanges(from: before, to: content)
        Output.emit(options, json: {
            DiffJSON(id: id, since: Output.version(version),
                     sections: Dictionary(uniqueKeysWithValues: sectionChanges.map { section, changes in
                         (section.key, changes.map { DiffJSON.Change(kind: $0.kind.rawValue, text: $0.text, organisation: $0.organisation) })
                     }),
                     fields: fields.map { DiffJSON.Field(field: $0.field, change: $0.kind, before: $0.before, after: $0.after) })
        }, text: {
            let since = VersionName.short(version)
            guard !sectionChanges.isEmpty || !fields.isEmpty else {
                return context.language.text("Ingen ændringer siden \(since).", "No changes since \(since).")
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
                lines.append("## \(context.language.title(of: section)) [\(context.language.key(of: section))]")
                for change in changes {
                    // A change of white space only is shown, not left blank.
                    let text = change.text.allSatisfy(\.isWhitespace)
                        ? change.text.map { $0.isNewline ? "↵" : "␣" }.joined() : change.text
                    lines.append("\(change.kind == .inserted ? "+" : "-") \(displayName(change.organisation)): \(text)")
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
}

struct Blame: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blame", abstract: Help.text("Hvilken organisation der har skrevet hver del af et afsnit.", "Which organisation wrote each part of a section."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Afsnittet.", "The section."))) var section: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let section = try context.section(section)
        let runs = try context.workspace.proposal(id).attribution(of: section)
        Output.emit(options, json: {
            BlameJSON(id: id, section: section.key, runs: runs.map { BlameJSON.Run(organisation: $0.organisation, text: $0.text) })
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
        abstract: Help.text("Vis felter, som partnere har sat til forskellige værdier på samme tid, og afgør dem.", "List fields that partners set to different values at the same time, and resolve them."),
        discussion: Help.text("""
            Tekster er aldrig i konflikt (begge ændringer bevares); et felt som amountRequested er, \
            når to organisationer sætter det samtidig. Afgør med --resolve FELT og enten --pick N \
            (en kandidats nummer) eller --value VÆRDI; valget synkroniseres til alle.
            """, """
            Texts never conflict (both edits are kept); a field such as amountRequested does when two \
            organisations set it concurrently. Resolve with --resolve FIELD and either --pick N (a \
            candidate's number) or --value VALUE; the choice syncs to everyone.
            """))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("Det felt i konflikt, der skal afgøres.", "The conflicting field to resolve."))) var resolve: String?
    @Option(help: ArgumentHelp(Help.text("Nummeret på den kandidat, der skal beholdes.", "The number of the candidate to keep."))) var pick: Int?
    @Option(help: ArgumentHelp(Help.text("Værdien, der skal sættes i stedet.", "The value to set instead."))) var value: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let content = try context.workspace.proposal(id).content()
        let name = organisationNames(content)
        guard let field = resolve else {
            Output.emit(options, json: { ConflictsJSON(id: id, conflicts: content.conflicts.map(ConflictJSON.init)) }, text: {
                guard !content.conflicts.isEmpty else { return context.language.text("Ingen konflikter.", "No conflicts.") }
                return content.conflicts.map { conflict in
                    (["\(conflict.field):"] + conflict.candidates.enumerated().map { "  \($0.offset + 1). \(String(reflecting: $0.element.value)) — \(name($0.element.author))" })
                        .joined(separator: "\n")
                }.joined(separator: "\n") + "\nResolve with: spor conflicts \(id) --resolve FIELD --pick N"
            })
            return
        }
        guard let conflict = content.conflicts.first(where: { $0.field == field }) else {
            throw CommandFailure(message: Help.text("\(field) har ingen konflikt", "\(field) has no conflict"), hint: content.conflicts.isEmpty ? Help.text("Der er ingen konflikter.", "There are no conflicts.")
                                    : Help.text("Felter i konflikt: \(content.conflicts.map(\.field).joined(separator: ", ")).", "Conflicting fields: \(content.conflicts.map(\.field).joined(separator: ", "))."),
                                 name: "unknownField", exitCode: 2)
        }
        let chosen: String
        switch (pick, value) {
        case let (number?, nil):
            guard number >= 1, number <= conflict.candidates.count else {
                throw CommandFailure.badInput(Help.text("der er ingen kandidat \(number); numrene er 1-\(conflict.candidates.count)", "there is no candidate \(number); numbers are 1-\(conflict.candidates.count)"))
            }
            chosen = conflict.candidates[number - 1].value
        case let (nil, value?):
            chosen = value
        default:
            throw CommandFailure.badInput(Help.text("giv enten --pick N eller --value VÆRDI", "give either --pick N or --value VALUE"))
        }
        guard Proposal.settableFields.contains(field) else {
            throw CommandFailure.badInput(Help.text("\(field) er et felt i et listepunkt", "\(field) is a field of a list item"), hint: Help.text("Fjern punktet, og tilføj det igen med de rigtige værdier.", "Remove the item and add it again with the right values."))
        }
        let calendar = context.calendar
        try context.workspace.change(id, now: context.now) { proposal in try proposal.set(field, to: chosen, calendar: calendar) }
        Output.emit(options, json: { ConflictResolvedJSON(id: id, field: field, value: chosen) }, text: { context.language.text("Afgjort \(field): \(chosen).", "Resolved \(field): \(chosen).") })
    }
}
