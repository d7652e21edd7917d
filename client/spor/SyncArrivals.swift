import SporClient
import SporCRDT
import SporProposal

/// What a sync brought a person, per proposal: whose changes arrived, and field
/// conflicts that were not there before — read from the workspace before and after
/// the sync (`SyncReport` counts events; this says who and what needs a decision).
struct SyncArrivals {
    struct Snapshot {
        var versions: [String: VersionVector] = [:]
        var conflicts: [String: Set<String>] = [:]
        var titles: [String: String] = [:]
    }

    /// The version and conflicting fields of every proposal, or of those in `only` (after
    /// a sync: the ones it brought events to — nothing else can have changed). A proposal
    /// that cannot be read is left out (the sync reports it).
    static func snapshot(_ workspace: Workspace, only: Set<String>? = nil) -> Snapshot {
        var snapshot = Snapshot()
        for summary in (try? workspace.proposals()) ?? [] where only?.contains(summary.id) ?? true {
            guard let proposal = try? workspace.proposal(summary.id), let content = try? proposal.content() else { continue }
            snapshot.versions[summary.id] = proposal.document.versionVector
            snapshot.conflicts[summary.id] = Set(content.conflicts.map(\.field))
            snapshot.titles[summary.id] = content.title
        }
        return snapshot
    }

    /// Lines for each proposal that received other organisations' changes or has a new
    /// conflict; `own` is this workspace's organisation (its changes do not "arrive").
    static func lines(before: Snapshot, after: Snapshot, own: String, language: Language) -> [String] {
        var lines: [String] = []
        for id in after.versions.keys.sorted() {
            guard let version = after.versions[id] else { continue }
            let earlier = before.versions[id] ?? VersionVector()
            var organisations: Set<String> = []
            for agent in version.agents where version[agent] > earlier[agent] {
                guard let organisation = ProposalSchema.organisation(of: agent), organisation != own else { continue }
                organisations.insert(displayName(organisation))
            }
            let title = after.titles[id].map { $0.isEmpty ? "" : " (\($0))" } ?? ""
            if !organisations.isEmpty {
                lines.append(language.text("Fra ", "From ") + organisations.sorted().joined(separator: ", ") + ": \(id)\(title)")
            }
            let new = (after.conflicts[id] ?? []).subtracting(before.conflicts[id] ?? [])
            for field in new.sorted() {
                lines.append(language.text("Ny konflikt i \(id): \(field), sat forskelligt af to parter — spor conflicts \(id)",
                                           "New conflict in \(id): \(field), set differently by two partners — spor conflicts \(id)"))
            }
        }
        return lines
    }
}
