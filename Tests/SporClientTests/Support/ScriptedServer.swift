import NIOCore
import NIOPosix
import SporTestSupport
import SporWire
import Synchronization

/// A Spor-speaking server on loopback whose answers are scripted by the test: for
/// each message a client sends, `answer` returns the messages to send back (none:
/// the request goes unanswered). It can also ping every connection at an interval,
/// so a client always hears *something* — the case where a client must notice that
/// its own requests are not being answered. It counts connections and the messages
/// received by type.
final class ScriptedServer: Sendable {
    typealias Answer = @Sendable (SporMessage) -> [SporMessage]

    private struct Counts {
        var connections = 0
        var received: [SporMessage.MessageType: Int] = [:]
    }

    /// Shared with the connection tasks.
    private final class Tally: Sendable {
        let counts = Mutex(Counts())
    }

    let port: Int
    private let tally = Tally()
    private let listener: Channel

    init(pingEvery pingInterval: Duration? = nil, answer: @escaping Answer) async throws {
        let tally = tally
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ByteToMessageHandler(SporFrameDecoder(maxFrameBytes: 1 << 20)))
                    try pipeline.addHandler(MessageToByteHandler(SporFrameEncoder()))
                    return try NIOAsyncChannel<SporMessage, SporMessage>(wrappingChannelSynchronously: channel)
                }
            }
        listener = server.channel
        port = server.channel.localAddress?.port ?? 0
        Task(executorPreference: DispatchTaskExecutor.shared) {
            try? await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        tally.counts.withLock { $0.connections += 1 }
                        group.addTask {
                            try? await Self.serve(connection, pingInterval: pingInterval, tally: tally, answer: answer)
                        }
                    }
                }
            }
        }
    }

    private static func serve(_ connection: NIOAsyncChannel<SporMessage, SporMessage>, pingInterval: Duration?,
                              tally: Tally, answer: Answer) async throws {
        try await connection.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                var answeredHello = false
                for try await message in inbound {
                    tally.counts.withLock { $0.received[message.type, default: 0] += 1 }
                    try await outbound.write(contentsOf: answer(message))
                    // Pings only after the handshake's answer, as SPEC §2 requires (the
                    // first frame each way is HELLO and WELCOME); a ping sent earlier on a
                    // busy machine reached the client before WELCOME.
                    if !answeredHello, let pingInterval {
                        answeredHello = true
                        group.addTask {
                            var nonce: UInt64 = 1
                            while true {
                                try await Task.sleep(for: pingInterval)
                                try await outbound.write(.ping(nonce: nonce))
                                nonce += 1
                            }
                        }
                    }
                }
                group.cancelAll()
            }
        }
    }

    var connections: Int { tally.counts.withLock { $0.connections } }

    func received(_ type: SporMessage.MessageType) -> Int { tally.counts.withLock { $0.received[type] ?? 0 } }

    func stop() async { try? await listener.close() }
}
