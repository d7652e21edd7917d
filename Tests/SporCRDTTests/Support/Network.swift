import SporTestSupport
@testable import SporCRDT

/// A simulated network of replicas for property tests: change batches in flight are
/// delivered in random order, sometimes more than once, and never across a partition.
struct SimulatedNetwork {
    struct Message {
        let from: Int
        let to: Int
        let bytes: [UInt8]
    }

    var replicas: [Document]
    private var inFlight: [Message] = []
    /// Each replica's version vector when it last broadcast.
    private var lastBroadcast: [VersionVector]
    /// The side of the partition each replica is on; nil when the network is whole.
    var partition: [Int]?
    private(set) var deliveries = 0
    private(set) var rejectedOutOfOrder = 0
    /// Rejected batches that nevertheless changed their replica (must stay 0).
    private(set) var halfAppliedRejections = 0

    init(agents: [AgentID]) {
        replicas = agents.map { Document(agent: $0) }
        lastBroadcast = agents.map { _ in VersionVector() }
    }

    var messagesInFlight: Int { inFlight.count }

    /// Sends everything `sender` learned since its last broadcast to every other replica.
    mutating func broadcast(from sender: Int) throws {
        let bytes = try replicas[sender].encodedChanges(since: lastBroadcast[sender])
        lastBroadcast[sender] = replicas[sender].versionVector
        for receiver in replicas.indices where receiver != sender {
            inFlight.append(Message(from: sender, to: receiver, bytes: bytes))
        }
    }

    /// Delivers one random message the partition lets through. A batch whose parents
    /// have not arrived yet is rejected — leaving the replica exactly as it was — and
    /// stays in flight. With probability `duplicate` a delivered message also stays
    /// in flight, to arrive again later.
    mutating func deliverOne(using random: inout SeededRandom, duplicate: Double) throws {
        guard !inFlight.isEmpty else { return }
        let index = Int.random(in: 0..<inFlight.count, using: &random)
        let message = inFlight[index]
        if let partition, partition[message.from] != partition[message.to] { return }
        let before = replicas[message.to].encoded()
        var receiver = replicas[message.to]
        let outcome: Result<Int, CRDTError>
        do { outcome = .success(try receiver.merge(encodedChanges: message.bytes)) } catch { outcome = .failure(error) }
        switch outcome {
        case .success:
            replicas[message.to] = receiver
            deliveries += 1
            if Double.random(in: 0..<1, using: &random) >= duplicate { inFlight.remove(at: index) }
        case .failure(let error):
            guard error.code == .unknownParent || error.code == .sequenceGap else { throw error }
            rejectedOutOfOrder += 1
            // The failed merge must have left the replica exactly as it was.
            if receiver.encoded() != before { halfAppliedRejections += 1 }
        }
    }

    /// Heals any partition and delivers everything, retrying out-of-order batches.
    mutating func drain(using random: inout SeededRandom) throws {
        partition = nil
        var attempts = 0
        while !inFlight.isEmpty, attempts < 100_000 {
            try deliverOne(using: &random, duplicate: 0)
            attempts += 1
        }
    }

    /// Full anti-entropy: every replica pulls what it lacks from every other, twice
    /// round so that everything reaches everyone.
    mutating func syncAll() throws {
        for _ in 0..<2 {
            for receiver in replicas.indices {
                for sender in replicas.indices where sender != receiver {
                    let bytes = try replicas[sender].encodedChanges(since: replicas[receiver].versionVector)
                    try replicas[receiver].merge(encodedChanges: bytes)
                }
            }
        }
    }
}
