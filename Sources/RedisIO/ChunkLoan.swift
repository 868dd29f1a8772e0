import Foundation
import Synchronization

/// A chunk a download has read, lent to its consumer without a copy: the bytes stay valid,
/// and their buffer out of the connection's use, until ``release()``. A consumer that keeps
/// loans (to hash them in order on another thread, say) holds back its connection once that
/// connection's buffers are all lent.
public final class ChunkLoan: @unchecked Sendable {
    /// The chunk's index in the file.
    public let index: Int
    /// The chunk's bytes, valid until ``release()``.
    public let bytes: UnsafeRawBufferPointer
    private let giveBack: @Sendable () -> Void
    private let released = Atomic<Bool>(false)

    /// A loan of `bytes` as chunk `index`; `giveBack` runs on the first ``release()``.
    public init(index: Int, bytes: UnsafeRawBufferPointer, giveBack: @escaping @Sendable () -> Void) {
        self.index = index
        self.bytes = bytes
        self.giveBack = giveBack
    }

    /// Gives the buffer back to its connection. Only the first call counts.
    public func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { giveBack() }
    }
}

/// The receive buffers of one connection of a download whose chunks are lent out.
final class BufferRing: @unchecked Sendable {
    private let buffers: [UnsafeMutableRawBufferPointer]
    private let free: Mutex<[Int]>
    private let available: DispatchSemaphore

    init(count: Int, size: Int) {
        buffers = (0..<max(count, 1)).map { _ in ReceiveBufferCache.shared.take(size: size) }
        free = Mutex(Array(buffers.indices))
        // Created at zero and raised: libdispatch traps when a semaphore is freed below the
        // value it was created with, which a drained ring is.
        available = DispatchSemaphore(value: 0)
        for _ in buffers { available.signal() }
    }

    /// A free buffer, waiting until a loan is released if all are lent.
    func take() -> (slot: Int, buffer: UnsafeMutableRawBufferPointer) {
        available.wait()
        let slot = free.withLock { $0.removeLast() }
        return (slot, buffers[slot])
    }

    func giveBack(_ slot: Int) {
        free.withLock { $0.append(slot) }
        available.signal()
    }

    /// Waits until every loan is released, then frees the buffers.
    func drainAndDeallocate() {
        for _ in buffers { available.wait() }
        for buffer in buffers { ReceiveBufferCache.shared.giveBack(buffer) }
    }
}
