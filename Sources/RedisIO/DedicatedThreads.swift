import Foundation

/// Runs blocking work on threads of its own, outside the Swift concurrency pool.
///
/// hiredis calls block the calling thread; on a 2-core machine the cooperative pool has two
/// threads, and blocking them stalls every task. Redis work goes here instead.
public enum DedicatedThreads {
    /// Runs `body(0..<count)` on `count` new threads at once and waits for all of them.
    /// Returns the results in index order, or throws the error of the lowest failing index
    /// after every thread has finished. A single body runs on the calling thread (which waits
    /// either way): a thread made for it cost more than small work itself, once per fetched
    /// file.
    public static func run<Result: Sendable>(
        count: Int, name: String = "dql.worker",
        _ body: @escaping @Sendable (Int) throws -> Result
    ) throws -> [Result] {
        precondition(count >= 0, "negative thread count")
        if count == 1 { return [try body(0)] }
        let results = ResultSlots<Result>(count: count)
        let finished = DispatchGroup()
        for index in 0..<count {
            finished.enter()
            let thread = Thread {
                results.set(index, Swift.Result { try body(index) })
                finished.leave()
            }
            thread.name = "\(name).\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        finished.wait()
        return try results.values()
    }

    /// Runs `body` on a new thread (with a stack of `stackSize` bytes) and resumes the caller
    /// when it is done, so async code can call blocking Redis code without occupying a
    /// cooperative thread.
    public static func detach<Result: Sendable>(
        name: String = "dql.worker", stackSize: Int = 1 << 20, _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Swift.Result { try body() })
            }
            thread.name = name
            thread.stackSize = stackSize
            thread.start()
        }
    }
}

/// Per-index result storage written by worker threads.
private final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, any Error>?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ result: Result<Value, any Error>) {
        lock.withLock { slots[index] = result }
    }

    func values() throws -> [Value] {
        try lock.withLock {
            try slots.map { slot in
                guard let slot else { preconditionFailure("a worker thread did not report") }
                return try slot.get()
            }
        }
    }
}
