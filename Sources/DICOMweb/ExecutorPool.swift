import DQL
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// The threads requests run on, over one client: `count` threads of their own, each with an
/// executor (its own caches; the client's pools bound the connections), taking work from one
/// queue. The server's tasks prefer them (a task executor): a request is read, answered and
/// its Redis work done on one of them, without the hand-offs to and from Swift's concurrency
/// pool that a separate pool for the blocking work took (two of the four thread wake-ups of
/// a small request). Redis work never runs on the concurrency pool's few threads (hiredis
/// blocks), and no thread is started per request.
final class ExecutorPool: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [(Executor) -> Void] = []
    private var start = 0
    private var stopped = false

    init(client: RedisClient, layout: StorageLayout, count: Int) {
        for index in 0..<max(1, count) {
            let executor = Executor(client: client, layout: layout)
            let thread = Thread { [self] in work(executor) }
            thread.name = "dql.serve.\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// The executor of the pool thread the caller is on, if it is on one.
    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private static var current: Executor? {
        pthread_getspecific(currentKey).map { Unmanaged<Executor>.fromOpaque($0).takeUnretainedValue() }
    }

    private func work(_ executor: Executor) {
        pthread_setspecific(Self.currentKey, Unmanaged.passUnretained(executor).toOpaque())
        while true {
            condition.lock()
            while start == queue.count && !stopped { condition.wait() }
            if start == queue.count {
                condition.unlock()
                return
            }
            let job = queue[start]
            start += 1
            if start == queue.count {
                queue.removeAll(keepingCapacity: true)
                start = 0
            }
            condition.unlock()
            job(executor)
        }
    }

    private func push(_ job: @escaping (Executor) -> Void) {
        condition.lock()
        queue.append(job)
        condition.unlock()
        // Signalled outside the lock: the thread woken does not block on it at once.
        condition.signal()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        push { [self] _ in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }

    /// Runs `body` with an executor: at once on a pool thread (where the server's tasks run),
    /// else on one of the pool's threads when one is free.
    func run<Result: Sendable>(_ body: @escaping @Sendable (Executor) throws -> Result) async throws -> Result {
        if let executor = Self.current { return try body(executor) }
        return try await withCheckedThrowingContinuation { continuation in
            push { executor in continuation.resume(with: Swift.Result { try body(executor) }) }
        }
    }

    /// Lets the threads end once the queue is empty.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
