import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// The transport's writes on a non-blocking socket whose buffer is tiny and whose reader is
/// slow: partial writes and EAGAIN everywhere, and every byte must arrive once, in order.
@Suite struct TransportStressTests {
    @Test func partialWritesDeliverEveryByteOnceInOrder() throws {
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        var small: Int32 = 4096
        setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(pair[1], SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
        let transport = Transport(descriptor: pair[0], endpoint: "pair")
        var generator = SplitMix64(seed: 17)
        var expected: [UInt8] = []
        var messages: [[[UInt8]]] = []
        for _ in 0..<300 {
            let parts = (0..<Int(generator.next() % 5 + 1)).map { _ in
                (0..<Int(generator.next() % 9000)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            }
            messages.append(parts)
            expected += parts.flatMap { $0 }
        }
        let reader = pair[1]
        let total = expected.count
        let received = Mutex<[UInt8]>([])
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 1500)
            var got: [UInt8] = []
            while got.count < total {
                let count = read(reader, &buffer, Int.random(in: 1...buffer.count))
                if count <= 0 { break }
                got += buffer[0..<count]
                if Int.random(in: 0..<20) == 0 { usleep(200) }
            }
            received.withLock { $0 = got }
            done.signal()
        }
        for parts in messages {
            try withParts(parts) { try transport.write($0, doing: "send") }
        }
        done.wait()
        let got = received.withLock { $0 }
        #expect(got.count == expected.count)
        #expect(got == expected)
        transport.close()
        close(reader)
    }

    private func withParts(_ parts: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> Void) throws {
        func nest(_ index: Int, _ collected: [UnsafeRawBufferPointer]) throws {
            if index == parts.count { return try body(collected) }
            try parts[index].withUnsafeBytes { try nest(index + 1, collected + [$0]) }
        }
        try nest(0, [])
    }
}
