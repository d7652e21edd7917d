import Foundation
import SporCRDT
import SporProposal
import SporServer
import SporTestSupport
import SporWire
import Synchronization
import Testing

/// The server is the authority: each attack a hostile member could make by sending
/// frames itself (not through `SporClient`, which never sends them) is refused with
/// the specified error and stores nothing; and every action works for the role that
/// may take it. Real TCP, an in-process server with its own clock.
@Suite("the server is the authority", .blockingCallsAllowed)
struct ServerAuthorityTests {
    /// The server's clock, moved by the test (clients' clocks play no part).
    final class TestClock: Sendable {
        let instant: Mutex<Date>
        init(_ text: String) throws { instant = Mutex(try Date(text, strategy: .iso8601)) }
        func set(_ text: String) throws {
            let date = try Date(text, strategy: .iso8601)
            instant.withLock { $0 = date }
        }
        var now: Date { instant.withLock { $0 } }
    }

    /// Aarhus (lead) with partners Odense and Region Midtjylland, observer KL Midt, an
    /// outsider (Vejle) and the secretariat; one proposal for the autumn 2024 round,
    /// complete, pushed by Aarhus, with the server's clock on 1 September 2024.
    struct Round {
        let server: TestServer
        let clock: TestClock
        var aarhus: TestClient, odense: TestClient, region: TestClient, dgo: TestClient, vejle: TestClient, office: TestClient
        let tokens: [String: String]
        static let id = "0751.skybrud"
        /// Aarhus's replica of the proposal (agent 0751/1), with the server's events.
        var replica: Proposal

        static func start(configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> Round {
            let clock = try TestClock("2024-09-01T10:00:00Z")
            let server = try await TestServer.start { configuration in
                configuration.now = { clock.now }
                configure(&configuration)
            }
            var tokens: [String: String] = [:]
            tokens["0751"] = try server.addOrganisation("Aarhus Kommune", code: "0751")
            tokens["0461"] = try server.addOrganisation("Odense Kommune", code: "0461")
            tokens["1082"] = try server.addOrganisation("Region Midtjylland", kind: .region, code: "1082")
            tokens["kl-midt"] = try server.addOrganisation("KL Midt", kind: .association, code: "kl-midt")
            tokens["0630"] = try server.addOrganisation("Vejle Kommune", code: "0630")
            tokens["sek"] = try server.addOrganisation("Klimaalliancens sekretariat", kind: .secretariat, code: "sek")
            var aarhus = try await server.connect(token: tokens["0751"] ?? "")
            try await aarhus.createDocument(id)
            try await aarhus.addMember("0461", to: id)
            try await aarhus.addMember("1082", to: id)
            try await aarhus.addMember("kl-midt", to: id, role: .observer)
            var proposal = try completeProposal()
            guard case .pushAck = try await aarhus.push(try proposal.document.encodedChanges(), to: id) else { throw TestFailure("push") }
            var document = proposal.document
            try await aarhus.subscribeAndCatchUp(id, into: &document)
            proposal = Proposal(document: document, actor: proposal.actor)
            return Round(server: server, clock: clock, aarhus: aarhus,
                         odense: try await server.connect(token: tokens["0461"] ?? ""),
                         region: try await server.connect(token: tokens["1082"] ?? ""),
                         dgo: try await server.connect(token: tokens["kl-midt"] ?? ""),
                         vejle: try await server.connect(token: tokens["0630"] ?? ""),
                         office: try await server.connect(token: tokens["sek"] ?? ""),
                         tokens: tokens, replica: proposal)
        }

        /// A replica of everything the server has, as agent `agent`.
        func replica(as agent: String) async throws -> Document {
            var reader = try await server.connect(token: tokens["sek"] ?? "")
            var document = Document(agent: try AgentID(agent))
            try await reader.subscribeAndCatchUp(Self.id, into: &document)
            await reader.close()
            return document
        }

        func storedEvents() async throws -> Int {
            try await server.store.documents(visibleTo: try server.store.account(id: "sek")).first { $0.document == Self.id }?.events ?? -1
        }

        func stop() async throws {
            for client in [aarhus, odense, region, dgo, vejle, office] { await client.close() }
            try await server.stop()
        }
    }

    /// A proposal that meets every rule of the autumn 2024 round, by Aarhus.
    static func completeProposal() throws -> Proposal {
        var proposal = try Proposal.create(agent: try AgentID("0751/1"), actor: Actor(organisation: "0751", role: .member),
                                           title: "Skybrudssikring med grønne tage", roundID: "2024-autumn")
        for section in Section.allCases where section != .title {
            try proposal.setSection(section, to: "Tekst om \(section.key): tre kommuner og en region tester grønne tage.")
        }
        try proposal.addParticipant(ParticipantInput(organisation: .registered(try #require(Organisation.withCode("0461"))), role: .partner,
                                                     cofinancingHours: 300))
        try proposal.addParticipant(ParticipantInput(organisation: .registered(try #require(Organisation.withCode("1082"))), role: .partner))
        try proposal.addBudgetLine(BudgetLineInput(item: "Sensorer", amount: 1_000_000, source: .klimaalliancen, year: 2025))
        try proposal.setAmountRequested(1_000_000)
        try proposal.addMilestone(title: "Tage etableret", date: CalendarDate(year: 2025, month: 6, day: 1))
        return proposal
    }

    static func vector(_ document: Document) -> VersionVector { document.versionVector }

    static func step(_ client: inout TestClient, _ kind: SporMessage.ProcessStep.Kind, version: VersionVector = VersionVector(),
                     outcome: String = "", note: String = "", granted: Int64? = nil) async throws -> SporMessage {
        let request = client.request()
        return try await client.reply(to: request, after: .processStep(request: request, document: Round.id, step: .init(
            kind: kind, version: version, outcome: outcome, note: note, grantedAmount: granted)))
    }

    static func code(_ message: SporMessage) -> WireErrorCode? {
        if case let .error(report) = message { return report.knownCode }
        return nil
    }

    static func message(_ message: SporMessage) -> String {
        if case let .error(report) = message { return report.message }
        return "\(message)"
    }

    // MARK: - Attack 1: rewriting a recorded submission

    @Test("attack 1: a recorded submission cannot be rewritten, also when the batch repeats the event that created it")
    func rewriteSubmission() async throws {
        var round = try await Round.start()
        let submitted = try await Self.step(&round.aarhus, .submitForQualification, version: round.replica.document.versionVector)
        guard case .stepRecorded = submitted else { throw TestFailure("submission refused: \(submitted)") }
        let beforeRecord = round.replica.document.versionVector
        var forged = try await round.replica(as: "0751/1")
        let item = try #require(forged.list(ProposalSchema.submissions).first?.id)
        let record = try ProposalSchema.submissions.child(item, .map)
        let stored = try await round.storedEvents()
        try forged.set(.string("0000"), forKey: ProposalSchema.Key.hash, in: record)
        try forged.set(.int(0), forKey: ProposalSchema.Key.at, in: record)
        // Since a version before the record: the batch carries the creating events too,
        // as duplicates of what the server has.
        let batch = try forged.encodedChanges(since: beforeRecord)
        #expect(try ChangeSummary(encodedChanges: batch).runs.contains { $0.agent == ProposalSchema.serverAgent })
        let reply = try await round.aarhus.push(batch, to: Round.id)
        #expect(Self.code(reply) == .forbidden, "\(reply)")
        #expect(try await round.storedEvents() == stored, "nothing stored")
        // The same rewrite by the secretariat: refused as well.
        var office = try await round.replica(as: "sek/office")
        let before = office.versionVector
        try office.set(.string("0000"), forKey: ProposalSchema.Key.hash, in: record)
        #expect(Self.code(try await round.office.push(try office.encodedChanges(since: before), to: Round.id)) == .forbidden)
        // The record still verifies against the content it certifies.
        let replica = Proposal(document: try await round.replica(as: "0461/check"), actor: Actor(organisation: "0461", role: .member))
        let submission = try #require(try replica.content().submissions.first)
        #expect(try replica.verify(submission))
        try await round.stop()
    }

    // MARK: - Attack 2: process rules on the server, by its clock

    @Test("attack 2: withdrawal, lead role and submissions written by a member are refused; only the lead's request, before the server's deadline, records a submission")
    func processRulesOnTheServer() async throws {
        var round = try await Round.start()
        var odense = try await round.replica(as: "0461/laptop")
        let stored = try await round.storedEvents()
        let forgeries: [(String, (inout Document) throws -> Void)] = [
            ("withdrawal", { try $0.set(.int(1_700_000_000), forKey: ProposalSchema.Key.withdrawnAt, in: ProposalSchema.process) }),
            ("lead in the members", { try $0.set(.string("lead"), forKey: "0461", in: ProposalSchema.members) }),
            ("backdated submission", { document in
                let item = try document.insert(.child(.map), at: document.list(ProposalSchema.submissions).count, in: ProposalSchema.submissions)
                let map = try ProposalSchema.submissions.child(item, .map)
                try document.set(.string("qualification"), forKey: ProposalSchema.Key.step, in: map)
                try document.set(.int(1_700_000_000), forKey: ProposalSchema.Key.at, in: map)
                try document.set(.string("0461"), forKey: ProposalSchema.Key.by, in: map)
            }),
        ]
        for (name, forge) in forgeries {
            var copy = odense
            let before = copy.versionVector
            try forge(&copy)
            let reply = try await round.odense.push(try copy.encodedChanges(since: before), to: Round.id)
            #expect(Self.code(reply) == .forbidden, "\(name): \(reply)")
        }
        #expect(try await round.storedEvents() == stored, "nothing stored")

        // A participant's role written in the content is content: stored, but the lead
        // stays the server's.
        let participants = Proposal(document: odense, actor: Actor(organisation: "0461", role: .member))
        let odenseItem = try #require(try participants.content().participants.first { $0.organisation?.name == "Odense Kommune" }?.id)
        let before = odense.versionVector
        try odense.set(.string("lead"), forKey: ProposalSchema.Key.role, in: try ProposalSchema.participants.child(odenseItem, .map))
        guard case .pushAck = try await round.odense.push(try odense.encodedChanges(since: before), to: Round.id) else {
            throw TestFailure("a content edit by a partner was refused")
        }
        let content = try Proposal(document: try await round.replica(as: "1082/check"), actor: Actor(organisation: "1082", role: .member)).content()
        #expect(content.lead == "0751")
        #expect(content.participants.filter { $0.role == .lead }.compactMap { $0.organisation?.name } == ["Aarhus Kommune"])

        // Asked of the server: a partner may not submit or withdraw.
        #expect(Self.code(try await Self.step(&round.odense, .submitForQualification, version: odense.versionVector)) == .forbidden)
        #expect(Self.code(try await Self.step(&round.odense, .withdraw)) == .forbidden)
        #expect(Self.code(try await Self.step(&round.dgo, .submitForQualification)) == .forbidden)
        // A version the server does not have.
        var ahead = round.replica.document
        try ahead.insert("Ny tekst", at: 0, in: ProposalSchema.text(of: .risks))
        #expect(Self.code(try await Self.step(&round.aarhus, .submitForQualification, version: ahead.versionVector)) == .missingDependencies)

        // The lead's request: the server's time and hash, of the version named.
        try round.clock.set("2024-09-02T08:00:00Z")
        let named = round.replica.document.versionVector
        guard case let .stepRecorded(_, _, hash, at) = try await Self.step(&round.aarhus, .submitForQualification, version: named) else {
            throw TestFailure("the lead's submission was refused")
        }
        #expect(at == Int64(try Date("2024-09-02T08:00:00Z", strategy: .iso8601).timeIntervalSince1970), "stamped by the server's clock")
        #expect(hash == (try round.replica.content(at: round.replica.document.version(of: named)).contentHash))
        let recorded = try Proposal(document: try await round.replica(as: "0461/check2"), actor: Actor(organisation: "0461", role: .member))
            .content().submissions
        #expect(recorded.count == 1)
        #expect(recorded.first?.by == "0751")
        #expect(recorded.first?.contentHash == hash)

        // After the deadline by the server's clock (7 October 09:00 Copenhagen = 07:00 UTC):
        // refused, nothing recorded — whatever the client believes the time is.
        try round.clock.set("2024-10-07T07:00:00Z")
        let stepsBefore = try await round.storedEvents()
        let late = try await Self.step(&round.aarhus, .submitForQualification, version: named)
        #expect(Self.code(late) == .stepRefused)
        #expect(Self.message(late).contains("deadline"), "\(Self.message(late))")
        #expect(try await round.storedEvents() == stepsBefore)
        try await round.stop()
    }

    @Test("a submission that breaks the call's rules is refused with the rules that fail; nothing recorded")
    func submissionBreakingRules() async throws {
        var round = try await Round.start()
        let before = round.replica.document.versionVector
        try round.replica.setSection(.developmentElement, to: "")
        guard case .pushAck = try await round.aarhus.push(try round.replica.document.encodedChanges(since: before), to: Round.id) else {
            throw TestFailure("push")
        }
        let stored = try await round.storedEvents()
        let reply = try await Self.step(&round.aarhus, .submitForQualification, version: round.replica.document.versionVector)
        #expect(Self.code(reply) == .stepRefused)
        #expect(Self.message(reply).contains("requirement"), "\(Self.message(reply))")
        #expect(try await round.storedEvents() == stored)
        try await round.stop()
    }

    // MARK: - Attacks 3 and 4: membership

    @Test("attacks 3 and 4: only the lead and the secretariat add and remove members; a removed member loses access at once, silent or not")
    func membership() async throws {
        var round = try await Round.start()
        // Partners and observers cannot add anyone, not even without the lead knowing.
        for (name, client) in [("partner", round.odense), ("observer", round.dgo)] {
            var client = client
            let request = client.request()
            let reply = try await client.reply(to: request, after: .addMember(request: request, document: Round.id, organisation: "0630", role: .partner))
            #expect(Self.code(reply) == .forbidden, "\(name): \(reply)")
        }
        #expect(try round.server.store.members(of: Round.id) == ["0461", "0751", "1082", "kl-midt"])

        // Odense subscribes, then stays silent; the lead removes it.
        var odenseDocument = Document(agent: try AgentID("0461/laptop"))
        try await round.odense.subscribeAndCatchUp(Round.id, into: &odenseDocument)
        let request = round.aarhus.request()
        let removed = try await round.aarhus.reply(to: request, after: .removeMember(request: request, document: Round.id, organisation: "0461"))
        guard case .ok = removed else { throw TestFailure("the lead could not remove a partner: \(removed)") }
        let ended = try await round.odense.receive { message -> String? in
            if case let .accessEnded(document) = message { return document }
            return nil
        }
        #expect(ended == Round.id)
        // From then on the proposal does not exist for Odense.
        var push = odenseDocument
        let base = push.versionVector
        try push.insert("Odense skriver stadig", at: 0, in: ProposalSchema.text(of: .risks))
        #expect(Self.code(try await round.odense.push(try push.encodedChanges(since: base), to: Round.id)) == .notFound)
        let subscribe = round.odense.request()
        #expect(Self.code(try await round.odense.reply(to: subscribe, after: .subscribe(request: subscribe, document: Round.id, version: VersionVector())))
                == .notFound)
        let add = round.odense.request()
        #expect(Self.code(try await round.odense.reply(to: add, after: .addMember(request: add, document: Round.id, organisation: "0630", role: .partner)))
                == .notFound)
        let list = round.odense.request()
        try await round.odense.send(.listDocuments(request: list))
        let listed = try await round.odense.receive { message -> [SporMessage.DocumentEntry]? in
            if case let .documents(r, entries) = message, r == list { return entries }
            return nil
        }
        #expect(listed.isEmpty)
        // The members map in the document says so too.
        let content = try Proposal(document: try await round.replica(as: "1082/check"), actor: Actor(organisation: "1082", role: .member)).content()
        #expect(content.members.map(\.organisation) == ["0751", "1082", "kl-midt"])
        // The lead cannot be removed, only handed over; the secretariat may remove others.
        let removeLead = round.office.request()
        #expect(Self.code(try await round.office.reply(to: removeLead, after: .removeMember(request: removeLead, document: Round.id, organisation: "0751")))
                == .invalidArgument)
        let removeRegion = round.office.request()
        guard case .ok = try await round.office.reply(to: removeRegion, after: .removeMember(request: removeRegion, document: Round.id, organisation: "1082")) else {
            throw TestFailure("the secretariat could not remove a member")
        }
        try await round.stop()
    }

    @Test("handing the lead over: the new lead submits, the old one no longer can; there is never a second lead")
    func handOverLead() async throws {
        var round = try await Round.start()
        let second = round.aarhus.request()
        #expect(Self.code(try await round.aarhus.reply(to: second, after: .addMember(request: second, document: Round.id, organisation: "0461", role: .lead)))
                == .invalidArgument, "a second lead is not added")
        let request = round.aarhus.request()
        guard case .ok = try await round.aarhus.reply(to: request, after: .setRole(request: request, document: Round.id, organisation: "0461", role: .lead)) else {
            throw TestFailure("hand-over refused")
        }
        let content = try Proposal(document: try await round.replica(as: "1082/check"), actor: Actor(organisation: "1082", role: .member)).content()
        #expect(content.members.filter { $0.role == .lead }.map(\.organisation) == ["0461"])
        #expect(content.memberRole(of: "0751") == .partner)
        #expect(content.lead == "0461")
        let version = try await round.replica(as: "0461/x").versionVector
        #expect(Self.code(try await Self.step(&round.aarhus, .submitForQualification, version: version)) == .forbidden)
        guard case .stepRecorded = try await Self.step(&round.odense, .submitForQualification, version: version) else {
            throw TestFailure("the new lead could not submit")
        }
        try await round.stop()
    }

    // MARK: - Attack 5: authorship

    @Test("attack 5: who wrote what comes from the events; comments are changed and deleted only by their author, resolved and replied to by anyone")
    func authorship() async throws {
        var round = try await Round.start()
        // Aarhus comments.
        let base = round.replica.document.versionVector
        let comment = try round.replica.addComment(on: .risks, range: 0..<5, text: "Er det nok?", at: Date(timeIntervalSince1970: 1_725_000_000))
        guard case .pushAck = try await round.aarhus.push(try round.replica.document.encodedChanges(since: base), to: Round.id) else {
            throw TestFailure("comment push")
        }
        var odense = try await round.replica(as: "0461/laptop")
        let map = try ProposalSchema.comments.child(comment, .map)
        // Claims in values: the agents map and a comment's author field.
        var claims = odense
        var before = claims.versionVector
        try claims.set(.string("0461"), forKey: "0751/1", in: ProposalSchema.agents)
        try claims.set(.string("0461"), forKey: ProposalSchema.Key.author, in: map)
        #expect(Self.code(try await round.odense.push(try claims.encodedChanges(since: before), to: Round.id)) == .forbidden,
                "writing into Aarhus's comment")
        before = odense.versionVector
        try odense.set(.string("0461"), forKey: "0751/1", in: ProposalSchema.agents)
        guard case .pushAck = try await round.odense.push(try odense.encodedChanges(since: before), to: Round.id) else {
            throw TestFailure("the legacy agents map is content")
        }
        let check = Proposal(document: try await round.replica(as: "1082/check"), actor: Actor(organisation: "1082", role: .member))
        #expect(try check.content().comments.first { $0.id == comment }?.author == "0751")
        #expect(try check.attribution(of: .risks).allSatisfy { $0.organisation == "0751" }, "the agents map changes no authorship")

        // Rewriting or deleting Aarhus's comment: refused, for partners and observers.
        for (name, client, agent) in [("partner", round.odense, "0461/laptop"), ("observer", round.dgo, "kl-midt/1")] {
            var client = client
            var writer = try await round.replica(as: agent)
            var start = writer.versionVector
            try writer.set(.string("Alt er fint"), forKey: ProposalSchema.Key.text, in: map)
            #expect(Self.code(try await client.push(try writer.encodedChanges(since: start), to: Round.id)) == .forbidden, "\(name) rewrites")
            writer = try await round.replica(as: agent)
            start = writer.versionVector
            try writer.remove(comment, from: ProposalSchema.comments)
            #expect(Self.code(try await client.push(try writer.encodedChanges(since: start), to: Round.id)) == .forbidden, "\(name) deletes")
        }
        // Resolving and replying: open to members.
        var dgo = Proposal(document: try await round.replica(as: "kl-midt/1"), actor: Actor(organisation: "kl-midt", role: .dgo))
        var start = dgo.document.versionVector
        _ = try dgo.reply(to: comment, text: "Vi hjælper gerne", at: Date(timeIntervalSince1970: 1_725_100_000))
        try dgo.setResolved(comment, true)
        guard case .pushAck = try await round.dgo.push(try dgo.document.encodedChanges(since: start), to: Round.id) else {
            throw TestFailure("an observer's reply and resolve were refused")
        }
        // An observer's comment is accepted; its content edit is not.
        start = dgo.document.versionVector
        _ = try dgo.addComment(on: .challenge, range: 0..<4, text: "Sparring fra KL Midt", at: Date(timeIntervalSince1970: 1_725_200_000))
        guard case .pushAck = try await round.dgo.push(try dgo.document.encodedChanges(since: start), to: Round.id) else {
            throw TestFailure("an observer's comment was refused")
        }
        var content = dgo.document
        start = content.versionVector
        try content.insert("KL Midt skriver", at: 0, in: ProposalSchema.text(of: .risks))
        #expect(Self.code(try await round.dgo.push(try content.encodedChanges(since: start), to: Round.id)) == .forbidden)
        let after = try Proposal(document: try await round.replica(as: "1082/check2"), actor: Actor(organisation: "1082", role: .member)).content()
        #expect(after.comments.map(\.author).sorted() == ["0751", "kl-midt"])
        #expect(after.comments.first { $0.id == comment }?.replies.map(\.author) == ["kl-midt"])
        try await round.stop()
    }

    @Test("save times and version names over raw TCP: a member records its own saves' times (an observer too); a time under another agent's event, or removing one, is refused; an observer cannot name a version")
    func saveTimesAndVersionNames() async throws {
        var round = try await Round.start()
        let at = Date(timeIntervalSince1970: 1_725_000_000)
        // Odense edits and records the save's time under its own first event: accepted.
        var odense = Proposal(document: try await round.replica(as: "0461/laptop"), actor: Actor(organisation: "0461", role: .member))
        var start = odense.document.versionVector
        try odense.setSection(.risks, to: "Odense skriver om risici.")
        try odense.recordSave(from: start[try AgentID("0461/laptop")], at: at)
        guard case .pushAck = try await round.odense.push(try odense.document.encodedChanges(since: start), to: Round.id) else {
            throw TestFailure("an own save time was refused")
        }
        // A time under Aarhus's event (rewriting when Aarhus saved), and removing Odense's own: forbidden, nothing stored.
        let stored = try await round.storedEvents()
        for write in [{ (document: inout Document) throws in
                          try document.set(.int(0), forKey: "0751/1@0", in: ProposalSchema.saves) },
                      { (document: inout Document) throws in
                          try document.removeValue(forKey: "0461/laptop@\(start[try AgentID("0461/laptop")])", in: ProposalSchema.saves) },
                      { (document: inout Document) throws in
                          try document.set(.string("3 o'clock"), forKey: "note", in: ProposalSchema.saves) }] {
            var forger = odense.document
            let before = forger.versionVector
            try write(&forger)
            let answer = try await round.odense.push(try forger.encodedChanges(since: before), to: Round.id)
            #expect(Self.code(answer) == .forbidden, "\(answer)")
            #expect(Self.message(answer).contains("written once, by the agent that saved"), "\(Self.message(answer))")
        }
        #expect(try await round.storedEvents() == stored, "nothing of a refused push is kept")
        // The observer comments and records its save's time: accepted; it may not name a version.
        var dgo = Proposal(document: try await round.replica(as: "kl-midt/1"), actor: Actor(organisation: "kl-midt", role: .dgo))
        start = dgo.document.versionVector
        _ = try dgo.addComment(on: .risks, range: 0..<5, text: "Sparring", at: at)
        try dgo.recordSave(from: start[try AgentID("kl-midt/1")], at: at)
        guard case .pushAck = try await round.dgo.push(try dgo.document.encodedChanges(since: start), to: Round.id) else {
            throw TestFailure("an observer's comment with its save time was refused")
        }
        var naming = dgo.document
        let beforeName = naming.versionVector
        try naming.set(.string("0751/1@3"), forKey: "til styregruppen", in: ProposalSchema.versionNames)
        #expect(Self.code(try await round.dgo.push(try naming.encodedChanges(since: beforeName), to: Round.id)) == .forbidden)
        // A partner names the version: accepted, and every replica reads the name and the save times.
        var partner = Proposal(document: try await round.replica(as: "0461/laptop"), actor: Actor(organisation: "0461", role: .member))
        start = partner.document.versionVector
        try partner.nameVersion("til styregruppen")
        guard case .pushAck = try await round.odense.push(try partner.document.encodedChanges(since: start), to: Round.id) else {
            throw TestFailure("a partner naming a version was refused")
        }
        let check = Proposal(document: try await round.replica(as: "1082/check"), actor: Actor(organisation: "1082", role: .member))
        #expect(check.namedVersions().map(\.name) == ["til styregruppen"])
        #expect(try check.saves().filter { $0.savedAt == at }.map(\.organisation) == ["0461", "kl-midt"])
        try await round.stop()
    }

    // MARK: - Attack 6: revocation of a silent connection

    @Test("attack 6: a revoked organisation's silent, subscribed connection is closed within the re-check interval")
    func revokedSilentConnection() async throws {
        var round = try await Round.start { $0.limits.accountRecheckInterval = .seconds(2) }
        var document = Document(agent: try AgentID("0461/laptop"))
        try await round.odense.subscribeAndCatchUp(Round.id, into: &document)
        let revoked = ContinuousClock.now
        try round.server.store.revoke(id: "0461")
        // Odense sends nothing; the server closes it by itself.
        let report = try await round.odense.receive { message -> SporMessage.ErrorReport? in
            if case let .error(report) = message { return report }
            return nil
        }
        let took = ContinuousClock.now - revoked
        #expect(report.knownCode == .unauthenticated)
        #expect(took < .seconds(5), "closed after \(took)")
        #expect(try await round.odense.receive(timeout: .seconds(10)) == nil, "and the connection is closed")
        try await round.stop()
    }

    // MARK: - Attack 7: no existence oracle

    @Test("attack 7: creating an id outside one's namespace gets one answer whether it exists or not; adding a member says nothing about accounts")
    func noExistenceOracle() async throws {
        var round = try await Round.start()
        func create(_ id: String) async throws -> SporMessage {
            let request = round.vejle.request()
            return try await round.vejle.reply(to: request, after: .createDocument(request: request, document: id))
        }
        let existing = try await create(Round.id)
        let missing = try await create("0751.no-such-proposal")
        #expect(Self.code(existing) == .invalidArgument)
        #expect(Self.code(existing) == Self.code(missing))
        #expect(Self.message(existing).replacingOccurrences(of: Round.id, with: "X")
                == Self.message(missing).replacingOccurrences(of: "0751.no-such-proposal", with: "X"))
        #expect(Self.code(try await create("legacy-id")) == .invalidArgument)
        // Its own namespace works.
        guard case .ok = try await create("0630.eget-spor") else { throw TestFailure("own namespace refused") }
        // An organisation id with an account and one without get the same answer.
        var answers: [SporMessage] = []
        for organisation in ["0461", "0101"] {
            let request = round.aarhus.request()
            answers.append(try await round.aarhus.reply(to: request, after: .addMember(request: request, document: Round.id,
                                                                                       organisation: organisation, role: .observer)))
        }
        #expect(answers.allSatisfy { if case .ok = $0 { true } else { false } }, "\(answers)")
        try await round.stop()
    }

    // MARK: - The secretariat and withdrawal

    @Test("the secretariat qualifies and records the decision through the server; members cannot; the lead withdraws")
    func secretariatSteps() async throws {
        var round = try await Round.start()
        let version = round.replica.document.versionVector
        guard case .stepRecorded = try await Self.step(&round.aarhus, .submitForQualification, version: version) else { throw TestFailure("submit") }
        #expect(Self.code(try await Self.step(&round.aarhus, .recordQualification, outcome: "qualified")) == .forbidden)
        #expect(Self.code(try await Self.step(&round.office, .recordQualification, outcome: "brilliant")) == .invalidArgument)
        try round.clock.set("2024-10-08T08:00:00Z")
        guard case let .stepRecorded(_, _, _, at) = try await Self.step(&round.office, .recordQualification, outcome: "qualified", note: "Fint") else {
            throw TestFailure("qualification refused")
        }
        #expect(at == Int64(try Date("2024-10-08T08:00:00Z", strategy: .iso8601).timeIntervalSince1970))
        let now = try await round.replica(as: "0751/1").versionVector
        guard case .stepRecorded = try await Self.step(&round.aarhus, .submitForApproval, version: now) else { throw TestFailure("approval") }
        try round.clock.set("2024-11-21T12:00:00Z")
        guard case .stepRecorded = try await Self.step(&round.office, .recordDecision, outcome: "approved", note: "Godkendt", granted: 900_000) else {
            throw TestFailure("decision refused")
        }
        let content = try Proposal(document: try await round.replica(as: "1082/check"), actor: Actor(organisation: "1082", role: .member)).content()
        #expect(content.qualification?.result == .qualified)
        #expect(content.decision?.outcome == .approved)
        #expect(content.decision?.grantedAmount == 900_000)
        #expect(content.submissions.map(\.step) == [.qualification, .approval])
        #expect(content.qualificationHistory.map(\.result) == [.qualified])
        // A changed decision is a new, dated entry; the first stays on record.
        try round.clock.set("2024-11-22T09:00:00Z")
        guard case .stepRecorded = try await Self.step(&round.office, .recordDecision, outcome: "approved", note: "Rettet beløb", granted: 800_000) else {
            throw TestFailure("second decision refused")
        }
        let changed = try Proposal(document: try await round.replica(as: "1082/check2"), actor: Actor(organisation: "1082", role: .member)).content()
        #expect(changed.decision?.grantedAmount == 800_000)
        #expect(changed.decisionHistory.map(\.grantedAmount) == [900_000, 800_000])
        #expect(changed.decisionHistory.map { $0.at.map { Int64($0.timeIntervalSince1970) } }
                == [Int64(try Date("2024-11-21T12:00:00Z", strategy: .iso8601).timeIntervalSince1970),
                    Int64(try Date("2024-11-22T09:00:00Z", strategy: .iso8601).timeIntervalSince1970)])
        // Decided: withdrawing is refused by the rules.
        #expect(Self.code(try await Self.step(&round.aarhus, .withdraw)) == .stepRefused)
        // The audit log has each of the secretariat's steps, by the server's clock, with
        // the batch that recorded it; the refused ones are not there.
        let steps = try round.server.store.auditEntries().filter { $0.action == .qualificationRecorded || $0.action == .decisionRecorded }
        #expect(steps.map(\.action) == [.qualificationRecorded, .decisionRecorded, .decisionRecorded])
        #expect(steps.allSatisfy { $0.actor == "sek" && $0.subject == Round.id })
        #expect(steps.map(\.detail) == ["qualified", "approved, granted 900000 kr.", "approved, granted 800000 kr."])
        #expect(steps.map { Int64($0.at.timeIntervalSince1970) }
                == (try ["2024-10-08T08:00:00Z", "2024-11-21T12:00:00Z", "2024-11-22T09:00:00Z"].map { Int64(try Date($0, strategy: .iso8601).timeIntervalSince1970) }))
        try await round.stop()
    }

    @Test("the lead withdraws; the server records who and when; afterwards nothing can be submitted")
    func withdraw() async throws {
        var round = try await Round.start()
        guard case let .stepRecorded(_, _, _, at) = try await Self.step(&round.aarhus, .withdraw) else { throw TestFailure("withdraw refused") }
        let content = try Proposal(document: try await round.replica(as: "1082/check"), actor: Actor(organisation: "1082", role: .member)).content()
        #expect(content.withdrawal?.by == "0751")
        #expect(content.withdrawal.map { Int64($0.at.timeIntervalSince1970) } == at)
        let version = try await round.replica(as: "0751/1").versionVector
        #expect(Self.code(try await Self.step(&round.aarhus, .submitForQualification, version: version)) == .stepRefused)
        try await round.stop()
    }
}
