import CSystemCalls

/// glibc's allocator settings for a long-running server that answers with buffers of 128 KiB to
/// a few MiB (an instance, a frame, a batch of a series).
enum AllocatorTuning {
    /// Keeps such buffers in the heap, to be reused, instead of mapping each one fresh and
    /// unmapping it when freed (glibc maps blocks from 128 KiB up, and trims the heap's free top
    /// past 128 KiB): a page fault for every 4 KiB of every answer. `/frames/1` of a 132 KB CT
    /// slice took 0.76–0.89 ms with this against 1.06–1.18 ms without, from one client; a whole
    /// instance 0.70–0.80 ms against 0.71–0.79 ms. Blocks of 32 MiB and more (glibc's highest
    /// threshold) are still mapped, and up to 64 MiB of free heap is kept per arena.
    static func keepFreedBuffersForReuse() {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 64 << 20)
    }
}
