import Dispatch
import Testing

/// Runs each test of a suite on threads outside Swift's cooperative pool.
///
/// Why: these tests make blocking calls — they run `spor` and `spor-server`
/// processes and wait for them, read pipes, open sockets with blocking `connect`.
/// On a two-core runner the cooperative pool has two threads; two tests blocked in
/// such calls stopped every other test's tasks (and the in-process servers') for
/// 6–10 s, longer than the handshake and idle timeouts some tests check, which then
/// failed in the full run and never alone (docs/RELIABILITY.md, "Test runs").
/// Under this trait a test's task and its child tasks prefer a concurrent dispatch
/// queue, whose threads the system adds while others block. Unstructured tasks a
/// test starts (an in-process server) stay on the cooperative pool, which is then
/// free of blocking calls.
public struct BlockingCallsAllowed: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(DispatchTaskExecutor.shared) { try await function() }
    }
}

extension Trait where Self == BlockingCallsAllowed {
    /// The suite's tests may block their thread (processes, pipes, blocking sockets).
    public static var blockingCallsAllowed: Self { BlockingCallsAllowed() }
}

/// A task executor on a concurrent dispatch queue: not width-limited like the
/// cooperative pool, so a blocked job does not hold up the others. In-process test
/// servers start their tasks on it too, so that blocking calls of other tests
/// cannot keep them from answering.
public final class DispatchTaskExecutor: TaskExecutor {
    public static let shared = DispatchTaskExecutor()
    private let queue = DispatchQueue(label: "spor.tests.blocking-calls", attributes: .concurrent)

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
