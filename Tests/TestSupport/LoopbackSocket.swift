import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP socket bound to an ephemeral port on 127.0.0.1, for tests that need a free port or a
/// peer that never answers.
public final class LoopbackSocket: Sendable {
    public let port: Int
    private let descriptor: Int32

    /// Binds a new socket to `port` (0: any free one); with `listening`, it also accepts connections into its backlog
    /// (without ever reading from them).
    public init(port requested: Int = 0, listening: Bool) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSetupError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(requested).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0
                    && (!listening || listen(descriptor, 16) == 0)
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard ready else {
            close(descriptor)
            throw TestSetupError("cannot bind a loopback socket: errno \(errno)")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }
}

/// A TCP port on 127.0.0.1 with nothing listening on it right now, drawn from below the
/// kernel's ephemeral range (32768+) so that outgoing connections cannot take it before a
/// server binds it.
public func freePort() throws -> Int {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
        let port = Int.random(in: 20000..<32000, using: &generator)
        if (try? LoopbackSocket(port: port, listening: false)) != nil { return port }
    }
    throw TestSetupError("no free port in 20000..<32000")
}
