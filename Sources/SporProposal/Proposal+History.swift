import SporCRDT

/// Who wrote what: a section's redline between two versions and its authorship, by
/// organisation — the prefix of each event's agent (``ProposalSchema/organisation(of:)``),
/// which the server ties to the organisation that pushed it. Nothing written in the
/// document can change it.
extension Proposal {
    /// A piece of a section's redline.
    public struct SectionChange: Hashable, Sendable {
        public let kind: Document.TextChange.Kind
        public let text: String
        /// The organisation that inserted or deleted it; nil for unchanged text.
        public let organisation: String?
    }

    /// A run of a section written by one organisation.
    public struct AuthoredRun: Hashable, Sendable {
        public let text: String
        public let organisation: String
    }

    /// How `section` changed from version `from` (e.g. a submission's) to `to`
    /// (default: now) — "what did Region Midtjylland change since we submitted?".
    /// Consecutive pieces by the same organisation are joined.
    public func changes(in section: Section, from: Version, to: Version? = nil) throws(ProposalError) -> [SectionChange] {
        let changes = try documentStep(field: section.key) { () throws(CRDTError) in
            try document.textChanges(in: ProposalSchema.text(of: section), from: from, to: to)
        }
        var result: [SectionChange] = []
        for change in changes {
            let organisation = change.author.map(Self.organisation(of:))
            if let last = result.last, last.kind == change.kind, last.organisation == organisation {
                result[result.count - 1] = SectionChange(kind: change.kind, text: last.text + change.text, organisation: organisation)
            } else {
                result.append(SectionChange(kind: change.kind, text: change.text, organisation: organisation))
            }
        }
        return result
    }

    /// Which organisation wrote each character of `section` at `version` (default: now).
    public func attribution(of section: Section, at version: Version? = nil) throws(ProposalError) -> [AuthoredRun] {
        let runs = try documentStep(field: section.key) { () throws(CRDTError) in
            try document.attribution(of: ProposalSchema.text(of: section), at: version)
        }
        var result: [AuthoredRun] = []
        for run in runs {
            let organisation = Self.organisation(of: run.author)
            if let last = result.last, last.organisation == organisation {
                result[result.count - 1] = AuthoredRun(text: last.text + run.text, organisation: organisation)
            } else {
                result.append(AuthoredRun(text: run.text, organisation: organisation))
            }
        }
        return result
    }

    /// The organisation `agent` writes for, or the agent's name if it has no
    /// organisation prefix (documents made outside Spor).
    public static func organisation(of agent: AgentID) -> String {
        ProposalSchema.organisation(of: agent) ?? (agent == ProposalSchema.serverAgent ? "server" : agent.name)
    }
}
