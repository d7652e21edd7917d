import SporCRDT

/// Who wrote what: a section's redline between two versions and its authorship, by
/// organisation (an agent is shown as the organisation it recorded in
/// ``ProposalSchema/agents``, or by its own name if it never did).
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
        let organisations = try agentOrganisations()
        let changes = try documentStep(field: section.key) { () throws(CRDTError) in
            try document.textChanges(in: ProposalSchema.text(of: section), from: from, to: to)
        }
        var result: [SectionChange] = []
        for change in changes {
            let organisation = change.author.map { organisations[$0.name] ?? $0.name }
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
        let organisations = try agentOrganisations()
        let runs = try documentStep(field: section.key) { () throws(CRDTError) in
            try document.attribution(of: ProposalSchema.text(of: section), at: version)
        }
        var result: [AuthoredRun] = []
        for run in runs {
            let organisation = organisations[run.author.name] ?? run.author.name
            if let last = result.last, last.organisation == organisation {
                result[result.count - 1] = AuthoredRun(text: last.text + run.text, organisation: organisation)
            } else {
                result.append(AuthoredRun(text: run.text, organisation: organisation))
            }
        }
        return result
    }

    private func agentOrganisations() throws(ProposalError) -> [String: String] {
        var result: [String: String] = [:]
        for (agent, register) in document.map(ProposalSchema.agents) {
            if case let .string(organisation)? = register.value { result[agent] = organisation }
        }
        return result
    }
}
