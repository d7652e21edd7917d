import Foundation
import SporClient
import SporDocuments
import SporProposal

// The `--json` output of every `spor` command, one documented struct per shape (the
// proposal's own content is `ProposalJSON` and its parts, in SporDocuments). Printed
// by `Output.printJSON` through `SporJSON`: pretty-printed, keys sorted, every key of a
// shape always present (`@Nullable` for "none"); times are ISO 8601 in UTC; ids are the
// workspace's proposal ids; organisations are their ids ("0751"), agents their names.

// MARK: - Shared

/// A command that changed one item of a proposal: `{"id", <key>: the item's id}` —
/// `budget add` (`line`), `budget remove`/`participant remove`/`milestone remove`
/// (`removed`), `comment add` (`comment`), `comment reply` (`replied`), `milestone add`
/// (`milestone`).
struct ItemChangedJSON: Encodable {
    let id: String
    let key: String
    let item: String

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(id, forKey: AnyKey("id"))
        try container.encode(item, forKey: AnyKey(key))
    }
}

/// A coding key chosen at run time (`ItemChangedJSON`, `ExportedTextJSON`).
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// An error under --json (on stdout, the exit code as without --json).
struct ErrorJSON: Encodable {
    struct Detail: Encodable {
        /// `CommandFailure.name`: "unknownProposal", "notSent", …
        let code: String
        let message: String
        let hint: String
    }

    let error: Detail
}

// MARK: - Setting up

/// `spor setup`: the workspace and the identity the server gave it.
struct SetupJSON: Encodable {
    let workspace: String
    /// "host:port".
    let server: String
    let organisation: String
    let organisationName: String
    /// `kommune`, `region`, `sekretariat`.
    let organisationKind: String
    let agent: String
}

/// `spor whoami`.
struct WhoAmIJSON: Encodable {
    let organisation: String
    let organisationName: String
    let organisationKind: String
    let agent: String
    @Nullable var server: String?
    let workspace: String
    /// Changes waiting to sync.
    let outbox: Int
}

/// `spor config language`.
struct LanguageJSON: Encodable {
    /// `da` or `en`.
    let language: String
    /// Whether chosen with `spor config language` (else from the locale).
    let chosen: Bool
}

// MARK: - Proposals

/// `spor new`.
struct NewProposalJSON: Encodable {
    let id: String
    let title: String
    /// Null when no round was open and none was given.
    @Nullable var round: String?
}

/// One proposal of `spor list` (the output is an array of these).
struct ProposalListItemJSON: Encodable {
    let id: String
    let title: String
    let events: Int
    let unsyncedChanges: Int
    let onServer: Bool
    let updatedAt: String
    /// When the server ended this organisation's access; null while it has access.
    @Nullable var accessEndedAt: String?

    init(_ summary: ProposalSummary) {
        id = summary.id
        title = summary.title
        events = summary.eventCount
        unsyncedChanges = summary.unsyncedChanges
        onServer = summary.onServer
        updatedAt = SporJSON.iso(summary.updatedAt)
        accessEndedAt = SporJSON.iso(summary.accessEndedAt)
    }
}

/// `spor set`.
struct FieldSavedJSON: Encodable {
    let id: String
    let field: String
    let saved: Bool
}

/// `spor edit`: whether the section changed.
struct SectionEditedJSON: Encodable {
    let id: String
    /// The section's key.
    let section: String
    let changed: Bool
}

/// `spor check`.
struct CheckJSON: Encodable {
    let id: String
    /// The step checked for: `qualification` or `approval`.
    let step: String
    /// No finding blocks submission.
    let ready: Bool
    let findings: [FindingJSON]
}

/// `spor status`.
struct StatusJSON: Encodable {
    /// A decision without its note (`spor show` has the note).
    struct Decision: Encodable {
        let outcome: String
        @Nullable var grantedAmount: Int64?
        @Nullable var at: String?
    }

    /// A change or request waiting in the outbox.
    struct Waiting: Encodable {
        let id: Int64
        let kind: String
        /// The server's refusal, when it refused it.
        @Nullable var lastError: String?
    }

    let id: String
    let status: String
    @Nullable var round: String?
    /// Each step (`qualification`, `approval`) to its deadline; null when the round is unknown.
    let deadlines: [String: String?]
    let submissions: [SubmissionJSON]
    @Nullable var amountRequested: Int64?
    let decisions: [Decision]
    let outbox: [Waiting]
}

/// One round of `spor rounds` (the output is an array of these).
struct RoundJSON: Encodable {
    let id: String
    let danishName: String
    let englishName: String
    @Nullable var qualificationDeadline: String?
    @Nullable var approvalDeadline: String?
    /// "YYYY-MM-DD".
    let committeeMeeting: String

    init(_ round: Round) {
        id = round.id
        danishName = round.danishName
        englishName = round.englishName
        qualificationDeadline = SporJSON.iso(try? round.deadlineInstant(for: .qualification))
        approvalDeadline = SporJSON.iso(try? round.deadlineInstant(for: .approval))
        committeeMeeting = round.committeeMeeting.description
    }
}

/// `spor rounds add`.
struct RoundAddedJSON: Encodable {
    let id: String
    let added: Bool
}

/// `spor export --output FILE`: what was written where.
struct ExportedFileJSON: Encodable {
    let id: String
    /// `docx`, `html` or `md`.
    let format: String
    let file: String
    let bytes: Int
}

/// `spor export` to stdout under --json: the export itself, as `text` (html, md) or
/// `base64` (docx).
struct ExportedTextJSON: Encodable {
    let id: String
    let format: String
    let contentKey: String
    let content: String

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(id, forKey: AnyKey("id"))
        try container.encode(format, forKey: AnyKey("format"))
        try container.encode(content, forKey: AnyKey(contentKey))
    }
}

/// `spor import`: where each heading of the file went.
struct ImportJSON: Encodable {
    struct Entry: Encodable {
        let heading: String
        /// Whether the text differs from the proposal's.
        let changed: Bool
        /// The section's key, when the heading names a section.
        let section: String?
        /// `existing` or `new`, when the heading is an extra section.
        let extraSection: String?
        /// true when the heading was not read (e.g. the title page).
        let skipped: Bool?

        init(_ entry: WordImportPlan.Entry) {
            heading = entry.heading
            changed = entry.newText != nil
            switch entry.target {
            case let .section(key):
                section = key.key
                extraSection = nil
                skipped = nil
            case let .extraSection(existing):
                section = nil
                extraSection = existing == nil ? "new" : "existing"
                skipped = nil
            case .skipped:
                section = nil
                extraSection = nil
                skipped = true
            }
        }
    }

    let id: String
    let file: String
    let saved: Bool
    /// Whether the file came from a `spor export` this workspace has the version of.
    let mergedFromExport: Bool
    /// The new title, when the file changes it.
    @Nullable var title: String?
    let entries: [Entry]
    /// Section keys with text in the proposal but no heading in the file (kept).
    let notInFile: [String]
}

/// `spor discard`.
struct DiscardJSON: Encodable {
    let id: String
    /// Outbox entries dropped.
    let discarded: Int
    /// Whether the proposal is on the server (`spor sync` fetches it again).
    let onServer: Bool?
    /// Where the dropped version was saved.
    let savedCopy: String?
}

// MARK: - Items

/// `spor budget list`.
struct BudgetJSON: Encodable {
    let id: String
    let lines: [BudgetLineJSON]
    /// Each funding source to its total.
    let totals: [String: Int64]
}

/// `spor participant list`.
struct ParticipantsJSON: Encodable {
    let id: String
    let participants: [ParticipantJSON]
}

/// `spor participant add`: the new entry and, for a registered organisation, the
/// member it is queued to become.
struct ParticipantAddedJSON: Encodable {
    let id: String
    let participant: String
    @Nullable var member: String?
}

/// `spor participant edit`.
struct ParticipantSavedJSON: Encodable {
    let id: String
    let participant: String
    let saved: Bool
}

/// `spor comment list`.
struct CommentsJSON: Encodable {
    let id: String
    let comments: [CommentJSON]
}

/// `spor comment resolve`.
struct CommentResolvedJSON: Encodable {
    let id: String
    let comment: String
    /// false after --reopen.
    let resolved: Bool
}

/// `spor milestone list`.
struct MilestonesJSON: Encodable {
    struct Milestone: Encodable {
        let number: Int
        let id: String
        let title: String
        @Nullable var date: String?
    }

    let id: String
    let milestones: [Milestone]
}

// MARK: - History

/// `spor log`: the saves, newest first, and the named versions.
struct LogJSON: Encodable {
    struct Save: Encodable {
        /// The short version `diff --since` and `show --at` take.
        let version: String
        let heads: [String]
        @Nullable var organisation: String?
        let agent: String
        let events: Int
        /// The author's clock.
        @Nullable var savedAt: String?
        /// The server's clock, when it stored the save's last event (protocol 3).
        @Nullable var receivedAt: String?
        /// What the save changed, in the workspace's language.
        let changes: String
        /// Names given to this version with `spor tag`.
        let names: [String]
    }

    struct Name: Encodable {
        let name: String
        let version: String
        let heads: [String]
    }

    let id: String
    let saves: [Save]
    let names: [Name]
}

/// `spor tag ID` without a name: the named versions.
struct TagsJSON: Encodable {
    struct Name: Encodable {
        let name: String
        let version: String
        /// Who named it.
        @Nullable var organisation: String?
    }

    let id: String
    let names: [Name]
}

/// `spor tag ID NAME` (and `--remove`).
struct TaggedJSON: Encodable {
    let id: String
    let name: String
    /// Null when removed.
    @Nullable var version: String?
    let removed: Bool
}

/// `spor diff`.
struct DiffJSON: Encodable {
    struct Change: Encodable {
        /// `inserted` or `deleted`.
        let kind: String
        let text: String
        @Nullable var organisation: String?
    }

    struct Field: Encodable {
        let field: String
        let change: String
        let before: String
        let after: String
    }

    let id: String
    /// The version compared with (heads joined by ",").
    let since: String
    /// Each changed section's key to its changes.
    let sections: [String: [Change]]
    let fields: [Field]
}

/// `spor blame`.
struct BlameJSON: Encodable {
    struct Run: Encodable {
        let organisation: String
        let text: String
    }

    let id: String
    let section: String
    let runs: [Run]
}

/// `spor conflicts ID`.
struct ConflictsJSON: Encodable {
    let id: String
    let conflicts: [ConflictJSON]
}

/// `spor conflicts ID --resolve FIELD --pick N`.
struct ConflictResolvedJSON: Encodable {
    let id: String
    let field: String
    let value: String
}

// MARK: - Server steps and members

/// `spor submit`/`qualify`/`decide`/`withdraw`: queued, and what the server said.
struct StepJSON: Encodable {
    /// The step recorded, with the submission's content hash when it was one.
    struct Submission: Encodable {
        let step: String
        let contentHash: String
        let submittedAt: String
    }

    let id: String
    /// The step's kind, when it stays queued (with `problem` if sending failed).
    let queued: String?
    let problem: String?
    /// The step's kind, when the server recorded it (`at` by its clock).
    let recorded: String?
    let at: String?
    let submission: Submission?
    /// The step's kind, when the server refused it (`message` its reason).
    let refused: String?
    let message: String?

    init(id: String, queued: String? = nil, problem: String? = nil, recorded: String? = nil, at: String? = nil,
         submission: Submission? = nil, refused: String? = nil, message: String? = nil) {
        (self.id, self.queued, self.problem, self.recorded, self.at) = (id, queued, problem, recorded, at)
        (self.submission, self.refused, self.message) = (submission, refused, message)
    }
}

/// `spor members`.
struct MembersJSON: Encodable {
    let id: String
    let members: [MemberJSON]
    /// Membership changes waiting to sync.
    let waiting: [String]
    @Nullable var accessEndedAt: String?
}

/// `spor members add`/`remove`/`role`: the change queued.
struct MembershipQueuedJSON: Encodable {
    let id: String
    let queued: String
}

// MARK: - Sync

/// `spor sync`.
struct SyncJSON: Encodable {
    /// A membership change the server took.
    struct Membership: Encodable {
        let document: String
        let change: String
    }

    struct RecordedStep: Encodable {
        let document: String
        let step: String
        let contentHash: String
        let at: String
    }

    struct Renamed: Encodable {
        let from: String
        let to: String
    }

    /// A workspace copy that had written as the same agent as another (see `ForkRepair`).
    struct Fork: Encodable {
        let document: String
        let agent: String
        let newAgent: String
        @Nullable var divergedAt: Int?
        let reissuedEvents: Int
        let droppedSteps: [String]
    }

    struct Refusal: Encodable {
        let document: String
        let message: String
    }

    /// Each proposal to the events received in it.
    let receivedEvents: [String: Int]
    let newDocuments: [String]
    let createdOnServer: [String]
    let pushedChanges: Int
    let pushedEvents: Int
    let membershipChanges: [Membership]
    let recordedSteps: [RecordedStep]
    let accessEnded: [String]
    let renamed: [Renamed]
    let forks: [Fork]
    let refusals: [Refusal]
    let skippedRounds: [String]
    let outboxRemaining: Int

    init(_ report: SyncReport) {
        receivedEvents = report.receivedEvents
        newDocuments = report.newDocuments.sorted()
        createdOnServer = report.createdOnServer.sorted()
        pushedChanges = report.pushedChanges
        pushedEvents = report.pushedEvents
        membershipChanges = report.membershipChanges.map { Membership(document: $0.document, change: MembershipChange.describe($0.change)) }
        recordedSteps = report.recordedSteps.map { RecordedStep(document: $0.document, step: $0.kind.rawValue, contentHash: $0.contentHash, at: SporJSON.iso($0.at)) }
        accessEnded = report.accessEnded.sorted()
        renamed = report.renamed.map { Renamed(from: $0.from, to: $0.to) }
        forks = report.forks.map {
            Fork(document: $0.document, agent: $0.agent, newAgent: $0.newAgent, divergedAt: $0.divergedAt,
                 reissuedEvents: $0.reissuedEvents, droppedSteps: $0.droppedSteps.map(\.rawValue))
        }
        refusals = report.refusals.map { Refusal(document: $0.document, message: $0.message) }
        skippedRounds = report.skippedRounds
        outboxRemaining = report.outboxRemaining
    }
}

/// `spor sync --watch --json`: one object as events are received in or sent of a
/// proposal (the objects follow one another on stdout).
struct WatchJSON: Encodable {
    let received: String?
    let sent: String?
    let events: Int
}
