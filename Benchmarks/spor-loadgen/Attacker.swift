import Foundation
import SporCRDT
import SporWire
import SporWireClient
import Synchronization

/// One hostile account attacking the server in a loop (docs/SECURITY.md, the attacks
/// of the hardening issue): each round sends, on its own connection,
///
/// - `bomb`: a 1 MB push whose compressed body claims 1 GiB inflated;
/// - `values`: a small push of one 1 MiB string value;
/// - `agents`: a push with 300 writers of one organisation;
/// - `placement`: 1,000 insertions at the front, concurrent with 1,000 stored ones
///   (about a million scans to place, were it accepted);
/// - `concurrent`: 45 such insertions (about 90,000 scans, each insertion scanning
///   the 1,000 twice: accepted, near the most a push may cost) from a new writer;
/// - `oldBranch`: one insertion branching from the first event of a document with
///   5,000 events after it (the replica must be rebuilt or replay them all);
/// - `subscribeFlood`: on a second connection that never reads, 60 SUBSCRIBEs with a
///   4,000-agent version each;
///
/// and counts the answers per attack (`stored`, or the error's name). Its pushes are
/// the costly ones a member may make; what the scenario measures is what they do to
/// everybody else. The refused payloads are made once (``Payloads``), so the
/// generator's own CPU goes to sending them, not to building them each round.
struct Attacker: Sendable {
    let port: Int
    let token: String
    /// The organisation's id (its agents' prefix).
    let organisation: String
    let index: Int
    let attacks: Set<Attack>

    enum Attack: String, CaseIterable, Sendable {
        case bomb, values, agents, placement, concurrent, oldBranch, subscribeFlood
    }

    final class Tally: Sendable {
        let answers = Mutex<[String: [String: Int]]>([:])
        func count(_ attack: String, _ answer: String) {
            answers.withLock { $0[attack, default: [:]][answer, default: 0] += 1 }
        }
        var snapshot: [String: [String: Int]] { answers.withLock { $0 } }
    }

    /// The documents one round uses: created when first needed, replaced when their
    /// writers run out (an organisation may have 256 writers per document).
    private struct Targets {
        var generation = 0
        var concurrentBase: Document?
        var concurrentWriters = 0
        /// The `concurrent` pushes so far: each new one has seen them, so it is
        /// concurrent with the 1,000 stored insertions only.
        var costlyBatches: [[UInt8]] = []
        var oldBranchFirst: [UInt8] = []
        var oldBranchWriters = 0
        /// The flood's SUBSCRIBE of this generation's document, encoded once.
        var subscribeFrame: [UInt8] = []
    }

    /// What is sent every round unchanged (all of it is refused, so it may repeat).
    struct Payloads {
        var bomb: [UInt8]
        var values: [UInt8]
        var crowd: [UInt8]
        var placing: [UInt8]
        var largeVersion: VersionVector

        init(organisation prefix: String) throws {
            // Flags 1 (deflated), a declared size of 1 GiB, 1 MB of non-deflate bytes.
            var payload: [UInt8] = []
            func varint(_ value: Int) {
                var rest = UInt64(value)
                while rest >= 0x80 {
                    payload.append(UInt8(rest & 0x7F) | 0x80)
                    rest >>= 7
                }
                payload.append(UInt8(rest))
            }
            varint(1 << 30)
            varint(1_000_000)
            payload += [UInt8](repeating: 0x5A, count: 1_000_000)
            bomb = encodedChangesEnvelope(flags: 1, payload: payload)

            var filled = Document(agent: try AgentID("\(prefix)/fyld"))
            try filled.set(.string(String(repeating: "a", count: 1 << 20)), in: try ContainerID.root("fyld", .register))
            values = try filled.encodedChanges()

            var many = Document()
            for writer in 0..<300 {
                var one = Document(agent: try AgentID("\(prefix)/mange-\(writer)"))
                try one.insert("x", at: 0)
                try many.merge(encodedChanges: try one.encodedChanges())
            }
            crowd = try many.encodedChanges()

            var front = Document(agent: try AgentID("\(prefix)/foran"))
            for _ in 0..<1_000 { try front.insert("z", at: 0) }
            placing = try front.encodedChanges()

            var large: [AgentID: Int] = [:]
            for writer in 0..<4_000 { large[try AgentID("\(prefix)/v\(writer)")] = 1 << 40 }
            largeVersion = VersionVector(large)
        }
    }

    func run(until deadline: ContinuousClock.Instant, tally: Tally) async throws {
        var client = try await LoadClient.connect(port: port, token: token)
        let payloads = try Payloads(organisation: organisation)
        var targets = Targets()
        var round = 0
        while ContinuousClock.now < deadline {
            try await attackOnce(&client, payloads: payloads, targets: &targets, round: round, tally: tally)
            round += 1
        }
        await client.connection.close()
    }

    private func document(_ name: String, _ generation: Int) -> String {
        "\(organisation).angreb-\(index)-\(name)-\(generation)"
    }

    /// Returns whether the push was stored.
    @discardableResult
    private func push(_ client: inout LoadClient, _ changes: [UInt8], to document: String, as attack: String,
                      tally: Tally) async throws -> Bool {
        let reply = try await client.request { .push(request: $0, document: document, changes: changes) }
        switch reply {
        case .pushAck?:
            tally.count(attack, "stored")
            return true
        case let .error(report)?: tally.count(attack, report.knownCode.map { "\($0)" } ?? "error \(report.code)")
        default: tally.count(attack, "no answer")
        }
        return false
    }

    private func create(_ client: inout LoadClient, _ document: String) async throws {
        guard case .ok? = try await client.request({ .createDocument(request: $0, document: document) }) else {
            throw LoadError("the attacker could not create \(document)")
        }
    }

    private func attackOnce(_ client: inout LoadClient, payloads: Payloads, targets: inout Targets, round: Int,
                            tally: Tally) async throws {
        let prefix = organisation
        if round == 0 || targets.concurrentWriters >= 240 || targets.oldBranchWriters >= 240 {
            targets.generation += 1
            targets.subscribeFrame = []
            // A document with 1,000 insertions at the front, and one with 5,000 events
            // after its first.
            let concurrent = document("samtidig", targets.generation)
            try await create(&client, concurrent)
            var base = Document(agent: try AgentID("\(prefix)/base"))
            for _ in 0..<1_000 { try base.insert("x", at: 0) }
            try await push(&client, try base.encodedChanges(), to: concurrent, as: "setup", tally: tally)
            targets.concurrentBase = base
            targets.concurrentWriters = 0

            let old = document("gammel", targets.generation)
            try await create(&client, old)
            var long = Document(agent: try AgentID("\(prefix)/lang"))
            try long.insert("x", at: 0)
            targets.oldBranchFirst = try long.encodedChanges()
            for index in 0..<5_000 { try long.insert("y", at: index + 1) }
            try await push(&client, try long.encodedChanges(), to: old, as: "setup", tally: tally)
            targets.oldBranchWriters = 0
            targets.costlyBatches = []
        }
        let concurrent = document("samtidig", targets.generation)
        let old = document("gammel", targets.generation)

        if attacks.contains(.bomb) {
            try await push(&client, payloads.bomb, to: concurrent, as: "bomb", tally: tally)
        }
        if attacks.contains(.values) {
            try await push(&client, payloads.values, to: concurrent, as: "values", tally: tally)
        }
        if attacks.contains(.agents) {
            try await push(&client, payloads.crowd, to: concurrent, as: "agents", tally: tally)
        }
        if attacks.contains(.placement) {
            try await push(&client, payloads.placing, to: concurrent, as: "placement", tally: tally)
        }

        if attacks.contains(.concurrent) {
            var costly = Document(agent: try AgentID("\(prefix)/dyr-\(round)"))
            try costly.merge(encodedChanges: targets.costlyBatches)
            let seen = costly.versionVector
            for _ in 0..<45 { try costly.insert("w", at: 0) }
            let costlyChanges = try costly.encodedChanges(since: seen)
            if try await push(&client, costlyChanges, to: concurrent, as: "concurrent", tally: tally) {
                targets.costlyBatches.append(costlyChanges)
            }
            targets.concurrentWriters += 1
        }

        if attacks.contains(.oldBranch) {
            var branch = Document(agent: try AgentID("\(prefix)/gren-\(round)"))
            try branch.merge(encodedChanges: targets.oldBranchFirst)
            let before = branch.versionVector
            try branch.insert("v", at: 0)
            try await push(&client, try branch.encodedChanges(since: before), to: old, as: "oldBranch", tally: tally)
            targets.oldBranchWriters += 1
        }
        guard attacks.contains(.subscribeFlood) else {
            // Without the flood (which waits on connecting), a round must still yield.
            try await Task.sleep(for: .milliseconds(5))
            return
        }

        // A second connection that subscribes again and again and never reads; the
        // server drops it once its queue is full, or it closes after 60.
        let flooder: LoadClient
        do {
            flooder = try await LoadClient.connect(port: port, token: token)
        } catch {
            // Refused (too many connections of this account still open on the
            // server's side): what the limit per account is for.
            tally.count("subscribeFlood", "connection refused")
            try await Task.sleep(for: .milliseconds(20))
            return
        }
        if targets.subscribeFrame.isEmpty {
            targets.subscribeFrame = SporMessage.subscribe(request: 1, document: concurrent, version: payloads.largeVersion).frameBytes
        }
        var sent = 0
        for _ in 0..<60 {
            // One frame encoded once (the request id repeats; the server answers each).
            guard (try? await flooder.connection.sendRaw(targets.subscribeFrame)) != nil else { break }
            sent += 1
        }
        tally.count("subscribeFlood", sent == 60 ? "sent 60" : "closed by the server")
        await flooder.connection.close()
    }
}
