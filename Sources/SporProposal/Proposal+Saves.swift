import Foundation
import SporCRDT

/// The proposal's history as people read it: saves (one person's change, with the
/// time by their clock) and versions members named.
///
/// A save's time lives in the document, in ``ProposalSchema/saves``, under the id of
/// the save's first event, written by the same agent in the same change — so every
/// partner sees when each save was made, offline too. It is the author's clock: it
/// says when the author believed they saved, not when the server got it (a save
/// made offline on Monday reaches the server on Wednesday; both are true). The
/// server accepts a time only under the writing agent's own events
/// (``ProposalSchema/action(of:writer:)``).
extension Proposal {
    /// One save: consecutive events of one agent that one change made.
    public struct Save: Hashable, Sendable {
        public let agent: AgentID
        public let seqs: Range<Int>
        /// By the author's clock; nil for saves from before save times were recorded
        /// (or an unreadable value).
        public let savedAt: Date?

        /// The organisation that saved (its server id); nil for the server's records.
        public var organisation: String? { ProposalSchema.organisation(of: agent) }
        /// The proposal right after this save, as its author had it.
        public var version: Version { Version(heads: [EventID(agent: agent, seq: seqs.upperBound - 1)]) }
        public var first: EventID { EventID(agent: agent, seq: seqs.lowerBound) }
        public var last: EventID { EventID(agent: agent, seq: seqs.upperBound - 1) }
    }

    /// A version a member named.
    public struct NamedVersion: Hashable, Sendable {
        public let name: String
        public let version: Version
        /// Who named it (the organisation of the event that wrote the name).
        public let organisation: String?
    }

    public static let maxVersionNameLength = 80

    /// Records that the change which began with this document's event `seq` was
    /// saved at `time`: under that event's id, "<Unix seconds> <events>", the events
    /// counting this write. Called by the workspace as the last write of each save.
    public mutating func recordSave(from seq: Int, at time: Date) throws(ProposalError) {
        guard let agent = document.agent else { return }
        let key = EventID(agent: agent, seq: seq).description
        // The save's events so far, and this write.
        let count = document.versionVector[agent] - seq + 1
        let seconds = Int64(time.timeIntervalSince1970.rounded(.down))
        try documentStep(field: "saves") { () throws(CRDTError) in
            try document.set(.string("\(seconds) \(count)"), forKey: key, in: ProposalSchema.saves)
        }
    }

    /// Every save, in this replica's order (a causal order: a save comes after the
    /// saves it builds on; replicas may order concurrent saves differently), oldest
    /// first. A save with a recorded time covers the events it counted; events outside
    /// every recorded save (the server's records, changes from before save times were
    /// recorded) are grouped into the changes that were each made on one version. A save a replica received in pieces (a
    /// large push is sent in several batches, others' events between them) is listed
    /// once per piece. O((runs + saves) · log saves), and O(log runs) per event
    /// outside a recorded save.
    public func saves() throws(ProposalError) -> [Save] {
        let runs = try documentStep { () throws(CRDTError) in try document.eventRuns() }
        var recorded = recordedSaves()
        for agent in recorded.keys { recorded[agent]?.sort { $0.seqs.lowerBound < $1.seqs.lowerBound } }
        var result: [Save] = []
        for run in runs {
            let agentSaves = recorded[run.agent] ?? []
            var position = run.seqs.lowerBound
            var index = Self.lastIndex(in: agentSaves, startingAtOrBefore: position) ?? 0
            while position < run.seqs.upperBound {
                // Skip recorded saves that end before this position.
                while index < agentSaves.count, agentSaves[index].seqs.upperBound <= position { index += 1 }
                if index < agentSaves.count, agentSaves[index].seqs.lowerBound <= position {
                    let end = min(agentSaves[index].seqs.upperBound, run.seqs.upperBound)
                    result.append(Save(agent: run.agent, seqs: position..<end, savedAt: agentSaves[index].at))
                    position = end
                } else {
                    let next = index < agentSaves.count ? agentSaves[index].seqs.lowerBound : run.seqs.upperBound
                    let end = try untimedEnd(of: run.agent, from: position, before: min(next, run.seqs.upperBound))
                    result.append(Save(agent: run.agent, seqs: position..<end, savedAt: nil))
                    position = end
                }
            }
        }
        return result
    }

    /// The latest recorded save's time: `saves().compactMap(\.savedAt).max()` without
    /// grouping the events (a recorded save's events are always in the document: its
    /// record is written by its own agent after them). O(saves), where ``saves()`` is
    /// O(events) on a history without save times.
    public func lastSaveTime() -> Date? {
        recordedSaves().values.lazy.flatMap { $0 }.map(\.at).max()
    }

    /// The readable save records by agent, unsorted.
    private func recordedSaves() -> [AgentID: [(seqs: Range<Int>, at: Date)]] {
        var recorded: [AgentID: [(seqs: Range<Int>, at: Date)]] = [:]
        for entry in document.map(ProposalSchema.saves) {
            guard let at = entry.key.lastIndex(of: "@"), let first = Int(entry.key[entry.key.index(after: at)...]), first >= 0,
                  let agent = try? AgentID(String(entry.key[..<at])), case let .string(text)? = entry.value.value else { continue }
            let fields = text.split(separator: " ")
            guard fields.count == 2, let seconds = Int64(fields[0]), let count = Int(fields[1]), count > 0, count <= Int.max - first else { continue }
            recorded[agent, default: []].append((first..<first + count, Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
        return recorded
    }

    /// Where a group of events without a recorded save ends: at the first event made
    /// on more than its predecessor (something was merged in between: a new change,
    /// like each of the server's records). O(events · log runs).
    private func untimedEnd(of agent: AgentID, from start: Int, before limit: Int) throws(ProposalError) -> Int {
        var seq = start + 1
        while seq < limit {
            let parents = try documentStep { () throws(CRDTError) in try document.version(before: EventID(agent: agent, seq: seq)) }
            if parents.heads != [EventID(agent: agent, seq: seq - 1)] { return seq }
            seq += 1
        }
        return limit
    }

    /// A save record written again when its events are re-issued under a new agent
    /// (a copied or restored workspace, ``Document/reissuing(eventsOf:from:as:rewriteMapEntry:mayReissue:)``):
    /// keyed by the save's first event's new id, so that the server accepts it from
    /// the new agent and every replica times the right events. A save that began
    /// before the cut (its first events are shared with the original) is recorded
    /// for its re-issued part: from the first re-issued event, with its count less
    /// the shared events. Other maps' entries: nil (unchanged).
    public static func reissuedSaveRecord(root: String, key: String, value: Value, events: ReissuedEvents) -> (key: String, value: Value)? {
        guard root == ProposalSchema.saves.rootName, let at = key.lastIndex(of: "@"), let seq = Int(key[key.index(after: at)...]),
              let agent = try? AgentID(String(key[..<at])) else { return nil }
        let first = EventID(agent: agent, seq: seq)
        if let renamed = events.newID(of: first) { return (renamed.description, value) }
        guard agent == events.cut.agent, seq < events.cut.seq, let start = events.newID(of: events.cut) else { return nil }
        var value = value
        if case let .string(text) = value {
            let fields = text.split(separator: " ")
            if fields.count == 2, let count = Int(fields[1]) {
                value = .string("\(fields[0]) \(max(1, count - (events.cut.seq - seq)))")
            }
        }
        return (start.description, value)
    }

    /// Binary search: the index of the last save starting at or before `seq`.
    private static func lastIndex(in saves: [(seqs: Range<Int>, at: Date)], startingAtOrBefore seq: Int) -> Int? {
        var low = 0, high = saves.count
        while low < high {
            let middle = (low + high) / 2
            if saves[middle].seqs.lowerBound <= seq { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// Names `version` (the current one if nil) `name` for every partner: `spor
    /// tag`. A name already given is moved. Throws `invalidValue` for an empty name
    /// or one over ``maxVersionNameLength`` characters, `notPermitted` for an observer.
    public mutating func nameVersion(_ name: String, _ version: Version? = nil) throws(ProposalError) {
        let name = name.trimmingWhitespace()
        guard !name.isEmpty, name.count <= Self.maxVersionNameLength, !name.contains(where: \.isNewline) else {
            throw ProposalError(.invalidValue, field: "versionName",
                                "a version's name is one line of 1 to \(Self.maxVersionNameLength) characters", danish: "en versions navn er én linje på 1 til \(Self.maxVersionNameLength) tegn")
        }
        try requireNamingRights()
        let heads = (version ?? document.version).heads.map(\.description).joined(separator: ",")
        try write(.string(heads), forKey: name, in: ProposalSchema.versionNames, field: "versionName")
    }

    /// Removes a version's name; throws `unknownItem` if there is none.
    public mutating func removeVersionName(_ name: String) throws(ProposalError) {
        try requireNamingRights()
        guard document.mapEntry(name, in: ProposalSchema.versionNames).value != nil else {
            throw ProposalError(.unknownItem, field: "versionName", "no version is named \(String(reflecting: name))", danish: "ingen version hedder \(String(reflecting: name))")
        }
        try documentStep(field: "versionName") { () throws(CRDTError) in
            try document.removeValue(forKey: name, in: ProposalSchema.versionNames)
        }
    }

    private func requireNamingRights() throws(ProposalError) {
        if case let .string(role)? = document.mapEntry(actor.organisation, in: ProposalSchema.members).value,
           role == ParticipantRole.observer.rawValue {
            throw ProposalError(.notPermitted, field: "versionName",
                                "an observer reads and comments; the lead partner, partners and the secretariat name versions", danish: "en observatør læser og kommenterer; tovholderen, partnerne og sekretariatet navngiver versioner")
        }
    }

    /// The named versions, by name. A name whose value is not a version (written by
    /// a broken client) is left out.
    public func namedVersions() -> [NamedVersion] {
        document.map(ProposalSchema.versionNames).compactMap { entry in
            guard case let .string(text)? = entry.value.value, let version = Self.version(text) else { return nil }
            let organisation = entry.value.writes.first.flatMap { ProposalSchema.organisation(of: $0.author.agent) }
            return NamedVersion(name: entry.key, version: version, organisation: organisation)
        }.sorted { $0.name < $1.name }
    }

    /// `agent@seq,agent@seq` as a version; nil if it is not one.
    public static func version(_ text: String) -> Version? {
        var heads: [EventID] = []
        for part in text.split(separator: ",") {
            let part = part.trimmingCharacters(in: .whitespaces)
            guard let at = part.lastIndex(of: "@"), let seq = Int(part[part.index(after: at)...]), seq >= 0,
                  let agent = try? AgentID(String(part[..<at])) else { return nil }
            heads.append(EventID(agent: agent, seq: seq))
        }
        return heads.isEmpty ? nil : Version(heads: heads)
    }
}
