import Synchronization

/// Receive buffers kept between downloads. A download of a small file used to map a fresh
/// buffer and unmap it at the end (glibc maps aligned blocks this large on their own): a
/// system call each way and a page fault for every 4 KiB touched, about a tenth of fetching a
/// 138 KB file. Buffers go back here instead, up to a bound, and the next download of a
/// chunk that fits takes one whose pages are already there.
final class ReceiveBufferCache: Sendable {
    /// The cache downloads use.
    static let shared = ReceiveBufferCache()

    /// Buffers larger than this are not kept (a large file's transfer makes its own).
    let largestKept: Int
    /// At most this many bytes of buffers are kept in all.
    let bytesKept: Int
    /// Buffers are sized in steps of this (and page-aligned), so files of nearby sizes share.
    static let step = 64 << 10

    /// Kept buffers as (address, byte count): raw pointers are not Sendable.
    private let kept = Mutex<[(address: UInt, count: Int)]>([])

    init(largestKept: Int = 8 << 20, bytesKept: Int = 16 << 20) {
        self.largestKept = largestKept
        self.bytesKept = bytesKept
    }

    deinit {
        for entry in kept.withLock({ $0 }) {
            UnsafeMutableRawPointer(bitPattern: entry.address)?.deallocate()
        }
    }

    /// A page-aligned buffer of at least `size` bytes: a kept one if one fits (the smallest
    /// that does, at most twice the size asked for), else a new one.
    func take(size: Int) -> UnsafeMutableRawBufferPointer {
        let wanted = (max(size, 1) + Self.step - 1) / Self.step * Self.step
        if wanted <= largestKept {
            let reused = kept.withLock { buffers -> (address: UInt, count: Int)? in
                let fitting = buffers.indices.filter { buffers[$0].count >= wanted && buffers[$0].count <= 2 * wanted }
                guard let best = fitting.min(by: { buffers[$0].count < buffers[$1].count }) else { return nil }
                return buffers.remove(at: best)
            }
            if let reused, let base = UnsafeMutableRawPointer(bitPattern: reused.address) {
                return UnsafeMutableRawBufferPointer(start: base, count: reused.count)
            }
        }
        return UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: 4096)
    }

    /// The bytes of buffers kept now.
    var keptBytes: Int { kept.withLock { $0.reduce(0) { $0 + $1.count } } }

    /// Gives a buffer from ``take(size:)`` back: kept if it is small enough and there is room,
    /// else freed.
    func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count <= largestKept else { return buffer.deallocate() }
        let entry = (address: UInt(bitPattern: base), count: buffer.count)
        let keptIt = kept.withLock { buffers -> Bool in
            guard buffers.reduce(0, { $0 + $1.count }) + entry.count <= bytesKept else { return false }
            buffers.append(entry)
            return true
        }
        if !keptIt { buffer.deallocate() }
    }
}
