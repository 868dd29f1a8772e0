import DQL
import Foundation
import RedisIO

/// The executors requests borrow, over one client: at most `count` requests talk to Redis at
/// once (each executor keeps its own caches; the client's pools bound the connections). Work
/// runs on a thread of its own, never on the concurrency pool's few threads: hiredis blocks.
actor ExecutorPool {
    private var idle: [Executor]
    private var waiting: [CheckedContinuation<Executor, Never>] = []

    init(client: RedisClient, layout: StorageLayout, count: Int) {
        idle = (0..<max(1, count)).map { _ in Executor(client: client, layout: layout) }
    }

    private func borrow() async -> Executor {
        if let executor = idle.popLast() { return executor }
        return await withCheckedContinuation { waiting.append($0) }
    }

    private func giveBack(_ executor: Executor) {
        if waiting.isEmpty {
            idle.append(executor)
        } else {
            waiting.removeFirst().resume(returning: executor)
        }
    }

    /// Runs `body` with an executor, on a thread of its own.
    nonisolated func run<Result: Sendable>(
        _ body: @escaping @Sendable (Executor) throws -> Result
    ) async throws
        -> Result
    {
        let executor = await borrow()
        defer { Task { await self.giveBack(executor) } }
        return try await DedicatedThreads.detach(name: "dql.serve") { try body(executor) }
    }
}
