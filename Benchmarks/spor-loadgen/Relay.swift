import ArgumentParser
import Foundation
import SporCRDT
import SporServer
import SporWire
import SporWireClient
import Synchronization

/// Many authenticated connections, proposals with several subscribers each, a steady
/// total push rate: push→relay latency (from just before a client sends PUSH to
/// when another subscriber's connection has received and decoded the relayed
/// EVENTS), losses, server memory.
struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Relay latency and loss under many connections.")

    @OptionGroup var options: ServerOptions
    @Option(help: "Simultaneous authenticated connections.") var connections = 1000
    @Option(help: "Proposals; connections are spread evenly over them.") var proposals = 100
    @Option(help: "Pushed changes per second, all connections together.") var rate = 2000.0
    @Option(help: "Seconds of steady pushing.") var seconds = 20.0
    @Option(help: "Connections per proposal that type (push, and merge what partners push); the others only read.")
    var writersPerProposal = 2
    @Option(help: "Seconds between samples of the server's resident memory.") var sampleEvery = 10.0
    @Flag(help: "Readers ping all at the same moment (as after every client reconnected at once), not spread over the 30 s.")
    var pingsInStep = false
    @Option(help: "Seconds of pushing after which memory must stay flat (default: a fifth of the run, at most 120).")
    var warmUp: Double?
    @Option(help: "Fail if the server's memory grows by more than this many MB after the warm-up.")
    var maxRssGrowthMb: Double?
    @Option(help: "Fail if the server's resident memory ever exceeds this many MB.")
    var maxRssMb: Double?
    @Option(help: "Fail if the push→relay latency's 99th percentile over the whole run exceeds this many ms.")
    var maxP99Ms: Double?
    @Option(help: "Connections of one more account that attack the server in a loop while the load runs (see Attacker; the under-attack scenario).")
    var attackers = 0
    @Option(help: "The attacks to run, comma-separated (default: all of \(Attacker.Attack.allCases.map(\.rawValue).joined(separator: ","))).")
    var attacks: String?

    struct Shared: Sendable {
        var ready = 0
        var connections: [WireConnection] = []
        var deadline: ContinuousClock.Instant?
        /// Set once the run is over and the generator closes its connections itself.
        var closing = false
        /// Connections whose reading ended before `closing` (the server closed them or a read failed).
        var closedEarly = 0
    }

    final class SharedState: Sendable {
        let state = Mutex(Shared())
    }

    /// Lets at most `limit` tasks through at once.
    actor Gate {
        let limit: Int
        var inside = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        init(limit: Int) { self.limit = limit }
        func enter() async {
            if inside < limit {
                inside += 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }
        func leave() {
            if waiting.isEmpty { inside -= 1 } else { waiting.removeFirst().resume() }
        }
    }

    final class Stats: Sendable {
        struct State {
            /// When each pushed batch (its bytes, which the server relays unchanged)
            /// was sent, and how many subscribers have yet to receive it.
            var sent: [[UInt8]: (at: ContinuousClock.Instant, awaited: Int)] = [:]
            var latenciesMs: [Double] = []
            var delivered = 0
            var acknowledged = 0
            var refused = 0
            var pushes = 0
        }
        let state = Mutex(State())
    }

    func run() async throws {
        let subscribers = connections / proposals
        guard subscribers >= 2, connections % proposals == 0 else {
            throw ValidationError("connections must be a multiple of proposals, with at least 2 per proposal")
        }
        let directory = temporaryDirectory("relay")
        let store = try SporStore(directory: directory)
        var tokens: [String] = []
        for slot in 0..<subscribers {
            tokens.append(try store.addAccount(name: "Institut \(slot)", kind: .institution, code: "k\(slot)").token)
        }
        let attackerToken = attackers > 0 ? try store.addAccount(name: "Angriber A/S", kind: .company, code: "angreb").token : nil
        let server = options.makeServer(directory: directory)
        try server.start()
        defer { server.stop() }
        let port = server.port

        // Proposals: slot 0 creates each and adds the other slots' organisations.
        var owner = try await LoadClient.connect(port: port, token: tokens[0])
        for proposal in 0..<proposals {
            guard case .ok? = try await owner.request({ .createDocument(request: $0, document: "k0.proposal-\(proposal)") }) else {
                throw LoadError("create failed")
            }
            for slot in 1..<subscribers {
                guard case .ok? = try await owner.request({ .addMember(request: $0, document: "k0.proposal-\(proposal)", organisation: "k\(slot)", role: .partner) }) else {
                    throw LoadError("add member failed")
                }
            }
        }
        await owner.connection.close()

        // Every connection lives in one task: connect and subscribe (at most 50
        // handshakes at a time), wait for the start, push on a timer while reading.
        let stats = Stats()
        // Every delivery's latency is kept; reserved up front so that growing the
        // array (a copy of tens of MB under the lock) never stalls the receivers.
        stats.state.withLock { $0.latenciesMs.reserveCapacity(Int(rate * self.seconds) * (subscribers - 1) + 1024) }
        let gate = Gate(limit: 50)
        let attackTally = Attacker.Tally()
        let shared = SharedState()
        guard (1...subscribers).contains(writersPerProposal) else {
            throw ValidationError("writers-per-proposal must be between 1 and the connections per proposal")
        }
        let writers = writersPerProposal
        let interval = Duration.seconds(Double(proposals * writers) / rate)
        let expectedPerPush = subscribers - 1
        let connectStart = ContinuousClock.now
        var connectMs = 0.0
        var memoryConnected = (peakBytes: 0, currentBytes: 0)
        var start = ContinuousClock.now
        // CPU seconds (server, generator) when pushing starts and ends.
        var cpuAtStart = (server: 0.0, generator: 0.0)
        var cpuAtDeadline = (server: 0.0, generator: 0.0)
        var acknowledgedAtDeadline = 0
        var samples: [MemorySample] = []
        let connections = connections
        let seconds = seconds
        let pingsInStep = pingsInStep
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<connections {
                let token = tokens[index % subscribers]
                let agent = "k\(index % subscribers)/c\(index)"
                let document = "k0.proposal-\(index / subscribers)"
                // A writer's replica merges what partners push (as real clients
                // do), so its own edits build on theirs; readers only read.
                let isWriter = index % subscribers < writers
                guard let agentID = try? AgentID(agent) else { throw LoadError("bad agent name \(agent)") }
                let replica = isWriter ? Replica(Document(agent: agentID)) : nil
                let receiver = Receiver(replica: replica, stats: stats)
                group.addTask {
                    await gate.enter()
                    var client: LoadClient
                    do {
                        client = try await LoadClient.connect(port: port, token: token, intercept: receiver.take)
                        var empty = Document()
                        try await client.catchUp(document, into: &empty)
                    } catch {
                        await gate.leave()
                        throw error
                    }
                    receiver.startTaking()
                    await gate.leave()
                    shared.state.withLock {
                        $0.ready += 1
                        $0.connections.append(client.connection)
                    }
                    var deadline: ContinuousClock.Instant?
                    while deadline == nil {
                        try await Task.sleep(for: .milliseconds(10))
                        deadline = shared.state.withLock { $0.deadline }
                    }
                    guard let deadline else { return }
                    let connection = client.connection
                    async let pushing: Void = {
                        guard let replica else {
                            // Readers send nothing else: they ping, as real clients do,
                            // so that the server's idle timeout does not close them.
                            await Self.ping(connection, every: .seconds(30), offset: pingsInStep ? 0.99 : Double(index) / Double(connections), until: deadline)
                            return
                        }
                        await Self.push(connection, replica: replica, document: document, receivers: expectedPerPush, interval: interval,
                                        offset: Double(index) / Double(connections), until: deadline, stats: stats)
                    }()
                    await Self.read(client, receiver: receiver)
                    shared.state.withLock { if !$0.closing { $0.closedEarly += 1 } }
                    await pushing
                }
            }
            while shared.state.withLock({ $0.ready }) < connections { try await Task.sleep(for: .milliseconds(10)) }
            connectMs = milliseconds(ContinuousClock.now - connectStart)
            memoryConnected = server.memory()
            start = ContinuousClock.now
            cpuAtStart = (server.cpuSeconds(), ownCPUSeconds())
            let deadline = start + .seconds(seconds)
            shared.state.withLock { $0.deadline = deadline }
            if let attackerToken {
                for index in 0..<attackers {
                    let chosen = try attacks.map { list in
                        try list.split(separator: ",").map { name in
                            guard let attack = Attacker.Attack(rawValue: String(name)) else { throw ValidationError("no attack \(name)") }
                            return attack
                        }
                    } ?? Attacker.Attack.allCases
                    let attacker = Attacker(port: port, token: attackerToken, organisation: "angreb", index: index, attacks: Set(chosen))
                    group.addTask { try await attacker.run(until: deadline, tally: attackTally) }
                }
            }
            // Sample the server's memory while pushing; then wait for every relay to
            // arrive (or 15 s more).
            var nextSample = start
            var latenciesSampled = 0
            while nextSample <= deadline {
                try await Task.sleep(until: nextSample, clock: .continuous)
                // Latencies are appended as relays arrive: the ones since the last
                // sample are those of this interval.
                let (counts, interval) = stats.state.withLock { state in
                    let interval = Array(state.latenciesMs[latenciesSampled...])
                    latenciesSampled = state.latenciesMs.count
                    return ((state.acknowledged, state.refused), interval)
                }
                samples.append(MemorySample(seconds: milliseconds(ContinuousClock.now - start) / 1000,
                                            rssBytes: server.memory().currentBytes,
                                            acknowledged: counts.0, refused: counts.1,
                                            latencyMsP99: Self.percentile(0.99, of: interval.sorted()),
                                            latencyMsMax: interval.max() ?? 0))
                nextSample += .seconds(sampleEvery)
            }
            try await Task.sleep(until: deadline, clock: .continuous)
            cpuAtDeadline = (server.cpuSeconds(), ownCPUSeconds())
            acknowledgedAtDeadline = stats.state.withLock { $0.acknowledged }
            let settle = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < settle {
                let done = stats.state.withLock { state in
                    state.acknowledged + state.refused >= state.pushes && state.delivered >= state.acknowledged * expectedPerPush
                }
                if done { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let open = shared.state.withLock { state in
                state.closing = true
                return state.connections
            }
            for connection in open { await connection.close() }
            try await group.waitForAll()
        }
        let elapsed = milliseconds(ContinuousClock.now - start) / 1000
        let memory = server.memory()
        let result = stats.state.withLock { $0 }
        let closedEarly = shared.state.withLock { $0.closedEarly }
        // Nothing acknowledged may be missing: a fresh client catches up every
        // proposal and counts the events served (every push is one event).
        var stored = 0
        var reader = try await LoadClient.connect(port: port, token: tokens[0])
        for proposal in 0..<proposals {
            stored += try await reader.countCatchUp("k0.proposal-\(proposal)")
        }
        await reader.connection.close()
        let warmUp = warmUp ?? min(seconds / 5, 120)
        let afterWarmUp = samples.filter { $0.seconds >= warmUp }
        let rssAtWarmUp = afterWarmUp.first?.rssBytes ?? 0
        let rssMaxAfterWarmUp = afterWarmUp.map(\.rssBytes).max() ?? 0
        let rssLast = samples.last?.rssBytes ?? 0
        let sorted = result.latenciesMs.sorted()
        func percentile(_ p: Double) -> Double { Self.percentile(p, of: sorted) }
        try printJSON([
            "scenario": attackers > 0 ? "under-attack" : "relay", "attackers": attackers, "attacks": attackTally.snapshot,
            "connections": connections, "proposals": proposals, "subscribersPerProposal": subscribers, "writersPerProposal": writers,
            "targetPushesPerSecond": rate, "seconds": seconds,
            "pushes": result.pushes, "acknowledged": result.acknowledged, "refused": result.refused,
            "achievedPushesPerSecond": Double(result.acknowledged) / seconds,
            "expectedDeliveries": result.acknowledged * expectedPerPush, "delivered": result.delivered,
            "lost": result.acknowledged * expectedPerPush - result.delivered,
            "latencyMsP50": percentile(0.5), "latencyMsP99": percentile(0.99), "latencyMsMax": sorted.last ?? 0,
            "connectAndSubscribeMs": connectMs, "elapsedSeconds": elapsed,
            // Cores used while pushing, and the server's CPU per acknowledged push
            // (its share of relaying that push to every subscriber included).
            "serverCores": (cpuAtDeadline.server - cpuAtStart.server) / seconds,
            "generatorCores": (cpuAtDeadline.generator - cpuAtStart.generator) / seconds,
            "serverCPUMicrosecondsPerPush": acknowledgedAtDeadline == 0 ? 0
                : (cpuAtDeadline.server - cpuAtStart.server) * 1_000_000 / Double(acknowledgedAtDeadline),
            "serverCPUs": options.serverCpus ?? "any",
            "pingsInStep": pingsInStep,
            "serverRSSBytesConnected": memoryConnected.currentBytes,
            "serverPeakRSSBytes": memory.peakBytes,
            "connectionsClosedEarly": closedEarly, "eventsStored": stored,
            "missingAcknowledged": max(0, result.acknowledged - stored),
            "warmUpSeconds": warmUp, "serverRSSBytesAtWarmUp": rssAtWarmUp,
            "serverRSSBytesMaxAfterWarmUp": rssMaxAfterWarmUp, "serverRSSBytesLast": rssLast,
            "serverRSSGrowthAfterWarmUpBytes": rssLast - rssAtWarmUp,
            "samples": samples.map { sample -> [String: Any] in
                ["seconds": (sample.seconds * 10).rounded() / 10, "rssBytes": sample.rssBytes,
                 "acknowledged": sample.acknowledged, "refused": sample.refused,
                 "latencyMsP99": (sample.latencyMsP99 * 10).rounded() / 10, "latencyMsMax": (sample.latencyMsMax * 10).rounded() / 10]
            },
        ])
        // A long run is a test too: anything lost, refused or dropped fails it.
        var failures: [String] = []
        let lost = result.acknowledged * expectedPerPush - result.delivered
        if lost != 0 { failures.append("\(lost) relayed deliveries lost") }
        if result.acknowledged < stored { failures.append("\(stored - result.acknowledged) events stored but not acknowledged") }
        if stored < result.acknowledged { failures.append("\(result.acknowledged - stored) acknowledged events missing") }
        if result.refused != 0 { failures.append("\(result.refused) pushes refused") }
        if closedEarly != 0 { failures.append("\(closedEarly) connections dropped") }
        if let limit = maxRssGrowthMb, Double(rssMaxAfterWarmUp - rssAtWarmUp) > limit * 1_048_576 {
            failures.append("server memory grew by \((rssMaxAfterWarmUp - rssAtWarmUp) / 1_048_576) MB after the warm-up (limit \(limit))")
        }
        if let limit = maxRssMb, Double(memory.peakBytes) > limit * 1_048_576 {
            failures.append("server peak memory \(memory.peakBytes / 1_048_576) MB (limit \(limit))")
        }
        if let limit = maxP99Ms, percentile(0.99) > limit {
            failures.append("push→relay p99 \(String(format: "%.1f", percentile(0.99))) ms (limit \(limit))")
        }
        if !failures.isEmpty { throw LoadError("relay failed: " + failures.joined(separator: "; ")) }
    }

    struct MemorySample {
        var seconds: Double
        var rssBytes: Int
        var acknowledged: Int
        var refused: Int
        /// Push→relay latency of the relays that arrived since the previous sample.
        var latencyMsP99: Double
        var latencyMsMax: Double
    }

    /// The `p` quantile of ascending `sorted` (nearest rank); 0 when empty.
    static func percentile(_ p: Double, of sorted: [Double]) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    /// One client's document, shared by its pushing and reading tasks. Partners'
    /// batches wait in `arrived` and are merged together before the next keystroke,
    /// as an editor merges what came in meanwhile: under load, one merge per keystroke
    /// instead of one per partner batch.
    final class Replica: Sendable {
        struct State {
            var document: Document
            var arrived: [[UInt8]] = []
        }
        let state: Mutex<State>
        init(_ document: Document) { state = Mutex(State(document: document)) }
    }

    /// Pings every `period`, the first after `offset` (0..<1) of a period: clients
    /// that connected at different times do not ping in step.
    static func ping(_ connection: WireConnection, every period: Duration, offset: Double,
                     until deadline: ContinuousClock.Instant) async {
        var nonce: UInt64 = 1
        var next = ContinuousClock.now + period * offset
        while next < deadline {
            try? await Task.sleep(until: next, clock: .continuous)
            next += period
            guard (try? await connection.send(.ping(nonce: nonce))) != nil else { return }
            nonce += 1
        }
    }

    /// Pushes one typed character every `interval` until `deadline`; each push is to
    /// reach `receivers` other subscribers.
    static func push(_ connection: WireConnection, replica: Replica, document: String, receivers: Int, interval: Duration,
                     offset: Double, until deadline: ContinuousClock.Instant, stats: Stats) async {
        var request: UInt64 = 1
        var next = ContinuousClock.now + interval * offset
        while next < deadline {
            try? await Task.sleep(until: next, clock: .continuous)
            next += interval
            let edit = replica.state.withLock { state -> [UInt8]? in
                if !state.arrived.isEmpty {
                    // Relayed in order, so together they merge; if not, one by one.
                    if (try? state.document.merge(encodedChanges: state.arrived)) == nil {
                        for batch in state.arrived { _ = try? state.document.merge(encodedChanges: batch) }
                    }
                    state.arrived.removeAll(keepingCapacity: true)
                }
                let before = state.document.versionVector
                guard (try? state.document.insert("x", at: state.document.textLength())) != nil else { return nil }
                return try? state.document.encodedChanges(since: before)
            }
            guard let changes = edit else { return }
            stats.state.withLock {
                $0.sent[changes] = (.now, receivers)
                $0.pushes += 1
            }
            do {
                try await connection.send(.push(request: request, document: document, changes: changes))
            } catch {
                return
            }
            request += 1
        }
    }

    /// One connection's receiving end. Once the connection is set up, it takes every
    /// message on the event loop as soon as it is decoded (`WireConnection`'s
    /// intercept), so a relay's latency ends when its frame has arrived and been
    /// decoded — not when one of 1,000 reading tasks on this machine's two cores gets
    /// its turn, which is the generator's own scheduling, not the server's latency.
    final class Receiver: Sendable {
        let replica: Replica?
        let stats: Stats
        private let taking = Atomic<Bool>(false)

        init(replica: Replica?, stats: Stats) {
            self.replica = replica
            self.stats = stats
        }

        /// From now on messages are taken as they arrive.
        func startTaking() { taking.store(true, ordering: .releasing) }

        /// The intercept: records `message` if taking has started.
        @Sendable func take(_ message: SporMessage) -> Bool {
            guard taking.load(ordering: .acquiring) else { return false }
            record(message)
            return true
        }

        func record(_ message: SporMessage) {
            switch message {
            case let .events(events) where !events.isCatchUp:
                let now = ContinuousClock.now
                replica?.state.withLock { $0.arrived.append(contentsOf: events.batches) }
                stats.state.withLock { state in
                    for batch in events.batches {
                        state.delivered += 1
                        // The server relays the pushed bytes unchanged: they identify the push.
                        guard let sent = state.sent[batch] else { continue }
                        state.latenciesMs.append(milliseconds(now - sent.at))
                        if sent.awaited > 1 { state.sent[batch]?.awaited -= 1 } else { state.sent[batch] = nil }
                    }
                }
            case .pushAck:
                stats.state.withLock { $0.acknowledged += 1 }
            case .error:
                stats.state.withLock { $0.refused += 1 }
            default:
                break
            }
        }
    }

    /// Reads until the connection closes: what arrived before the receiver started
    /// taking, then only the end of the stream.
    static func read(_ client: consuming LoadClient, receiver: Receiver) async {
        var iterator = client.iterator
        while let message = try? await iterator.next() {
            receiver.record(message)
        }
    }
}
