import DQL
import Foundation
import RedisIO

/// The executors requests borrow, over one client: `count` threads of their own, each with an
/// executor (its own caches; the client's pools bound the connections), taking work from one
/// queue. Redis work runs there, never on the concurrency pool's few threads (hiredis
/// blocks), and no thread is started per request.
final class ExecutorPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [(Executor) -> Void] = []
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

    private func work(_ executor: Executor) {
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            condition.unlock()
            job(executor)
        }
    }

    /// Runs `body` with an executor on one of the pool's threads, when one is free.
    func run<Result: Sendable>(_ body: @escaping @Sendable (Executor) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            queue.append { executor in continuation.resume(with: Swift.Result { try body(executor) }) }
            condition.signal()
            condition.unlock()
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
