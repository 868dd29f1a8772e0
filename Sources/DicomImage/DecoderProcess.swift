import CSystemCalls
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// GDCM runs in a process of its own, `dql-decode`: Debian's GDCM keeps its assertions, and
/// damaged JPEG data makes it abort (`Assertion (precision - 1) >= 0 failed`), which in dql's
/// process would end the session. Helpers are kept between decodes (GDCM takes about 20 ms to
/// start); a decode costs a copy of the file and of the pixels through a socket.
enum DecoderProcess {
    /// What `dql-decode` answered: the decoded layout and the pixels.
    struct Decoded {
        var columns, rows, frames, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation,
            planarConfiguration: Int
        var photometric: String
        var pixels: ArraySlice<UInt8>
    }

    /// Where `dql-decode` is, looked for once a process.
    static let located = helperPath()

    /// Where `dql-decode` is: `$DQL_DECODE`, else beside the running executable, else in
    /// `../lib/dql/` from it (an installed dql).
    static func helperPath() -> String? {
        if let explicit = getenv("DQL_DECODE").map({ String(cString: $0) }), !explicit.isEmpty { return explicit }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let executable = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = executable.lastIndex(of: "/") else { return nil }
        let directory = String(executable[..<slash])
        // One that is there but cannot run is returned too: starting it says why.
        let candidates = [directory + "/dql-decode", directory + "/../lib/dql/dql-decode"]
        return candidates.first { access($0, X_OK) == 0 } ?? candidates.first { access($0, F_OK) == 0 }
    }

    /// A `dql-decode --serve` that is running: its process, and dql's end of the socket it
    /// reads requests from and writes answers to.
    struct Helper: Sendable {
        var pid: pid_t
        var socket: Int32
        var path: String
    }

    /// Helpers between decodes, ready for the next: a decode does not pay for GDCM's start
    /// (about 20 ms: its libraries' relocations and static constructors) again.
    static let idle = Synchronization.Mutex<[Helper]>([])
    /// Helpers kept between decodes at most: one a core.
    static let keptIdle = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// Decodes `file` (a DICOM file holding what GDCM needs) in `dql-decode`.
    static func decode(
        _ file: [UInt8], maxLength: Int, isCancelled: () -> Bool = { false }, helper explicit: String? = nil,
        deadline: Double = deadlineSeconds
    ) throws(ImageError) -> Decoded {
        guard let path = explicit ?? located else {
            throw ImageError("its pixel data needs dql-decode (GDCM), which is not installed beside dql")
        }
        let helper = try take(path)
        var request: [UInt8] = []
        request.reserveCapacity(16 + file.count)
        withUnsafeBytes(of: UInt64(maxLength).littleEndian) { request += $0 }
        withUnsafeBytes(of: UInt64(file.count).littleEndian) { request += $0 }
        request += file
        let outcome = exchange(
            request, socket: helper.socket, maxReply: maxLength + 4096, deadline: deadline, isCancelled: isCancelled)
        switch outcome.stop {
        case .finished:
            giveBack(helper)
        case .cancelled:
            stop(helper)
            throw ImageError.cancelled
        case .timedOut:
            stop(helper)
            throw ImageError("the decoder (GDCM) gave no answer within \(Int(deadline)) s, and was stopped")
        case .tooLong:
            stop(helper)
            throw ImageError("the decoder (GDCM) answered more than the \(maxLength) bytes of pixels the header allows")
        case .ended:
            // The helper died on this file: how.
            close(helper.socket)
            var status: Int32 = 0
            while waitpid(helper.pid, &status, 0) < 0 && errno == EINTR {}
            // WIFSIGNALED / WTERMSIG, spelled out (the macros do not come through to Swift).
            let signal = status & 0x7F
            // Ctrl-C reaches the helper too (it is in the terminal's process group).
            if signal == SIGINT { throw ImageError.cancelled }
            if signal != 0 && signal != 0x7F {
                throw ImageError(
                    "the decoder (GDCM) crashed on its pixel data (signal \(signal)): the data is damaged, or GDCM cannot read it"
                )
            }
            throw ImageError("dql-decode gave no answer (exit status \((status >> 8) & 0xFF))")
        }
        // The answer after its length.
        let reply = outcome.reply[8...]
        if reply.starts(with: Array("ERR\n".utf8)) {
            throw ImageError(String(decoding: reply.dropFirst(4), as: UTF8.self))
        }
        let headerLength = 3 + 8 * 4 + 32 + 8
        guard reply.starts(with: Array("OK\n".utf8)), reply.count >= headerLength else {
            throw ImageError("dql-decode gave an answer dql does not understand")
        }
        func field(_ index: Int) -> Int {
            let at = reply.startIndex + 3 + index * 4
            return (0..<4).reduce(0) { $0 | Int(reply[at + $1]) << (8 * $1) }
        }
        let start = reply.startIndex
        let photometricBytes = reply[(start + 3 + 32)..<(start + 3 + 32 + 32)]
        var photometric = String(decoding: photometricBytes.prefix { $0 != 0 }, as: UTF8.self)
        while photometric.last == " " { photometric.removeLast() }
        let length = (0..<8).reduce(0) { $0 | Int(reply[start + 3 + 64 + $1]) << (8 * $1) }
        guard length == reply.count - headerLength else {
            throw ImageError("dql-decode answered \(reply.count - headerLength) bytes of pixels, announcing \(length)")
        }
        let fields = (0..<8).map(field)
        // The pixels without a copy of them.
        return Decoded(
            columns: fields[0], rows: fields[1], frames: fields[2], samplesPerPixel: fields[3],
            bitsAllocated: fields[4], bitsStored: fields[5], pixelRepresentation: fields[6],
            planarConfiguration: fields[7], photometric: photometric, pixels: reply[(start + headerLength)...])
    }

    /// An idle helper of `path` that is still running, else a new one.
    static func take(_ path: String) throws(ImageError) -> Helper {
        while let helper = idle.withLock({ helpers -> Helper? in
            guard let index = helpers.lastIndex(where: { $0.path == path }) else { return nil }
            return helpers.remove(at: index)
        }) {
            // One that ended while it waited (killed with the thread that started it, say)
            // is let go.
            var status: Int32 = 0
            if waitpid(helper.pid, &status, WNOHANG) == 0 { return helper }
            close(helper.socket)
        }
        return try start(path)
    }

    /// Keeps a helper for the next decode, or lets it end when enough are kept.
    static func giveBack(_ helper: Helper) {
        let kept = idle.withLock { helpers -> Bool in
            guard helpers.count < keptIdle else { return false }
            helpers.append(helper)
            return true
        }
        if !kept { stop(helper) }
    }

    /// Kills a helper and waits for it.
    static func stop(_ helper: Helper) {
        kill(helper.pid, SIGKILL)
        close(helper.socket)
        var status: Int32 = 0
        while waitpid(helper.pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Starts `dql-decode --serve` with one end of a socket pair as its standard input and
    /// output (dql's end is written with MSG_NOSIGNAL: a helper that died is an answer that
    /// ends, never a SIGPIPE).
    static func start(_ path: String) throws(ImageError) -> Helper {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw ImageError("cannot start dql-decode: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        // The helper keeps only its standard descriptors: one started at the same moment by
        // another thread must not hold this one's socket.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        // What GDCM prints (its codecs' complaints, an assertion, the Swift runtime's backtrace
        // of a crash) is not the user's business: the answer says what went wrong.
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [path, "--serve"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        // No backtrace on a crash: it takes time, and nobody reads it.
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("SWIFT_BACKTRACE=enable=no")]
        var index = 0
        while let entry = environ[index] {
            if !String(cString: entry).hasPrefix("SWIFT_BACKTRACE=") { environment.append(strdup(entry)) }
            index += 1
        }
        environment.append(nil)
        defer { for pointer in environment { free(pointer) } }
        let spawned = posix_spawn(&child, path, &actions, nil, &argv, &environment)
        close(ends[1])
        guard spawned == 0 else {
            close(ends[0])
            throw ImageError("cannot start \(path): \(String(cString: strerror(spawned)))")
        }
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        return Helper(pid: child, socket: ends[0], path: path)
    }

    /// How long a decode may take: GDCM spends seconds on some damaged JPEG-LS, and a large
    /// film takes a while, but a decoder that answers nothing for this long is stuck.
    static let deadlineSeconds: Double = 120

    enum Stop { case finished, cancelled, timedOut, tooLong, ended }

    /// Writes `request` to the helper and reads its answer (a length, then that many bytes),
    /// both without blocking, checking the deadline and `isCancelled` every 100 ms.
    static func exchange(
        _ request: [UInt8], socket: Int32, maxReply: Int, deadline: Double, isCancelled: () -> Bool
    ) -> (reply: [UInt8], stop: Stop) {
        var written = 0
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let started = ContinuousClock.now
        while true {
            if isCancelled() { return (reply, .cancelled) }
            if ContinuousClock.now - started > .seconds(deadline) { return (reply, .timedOut) }
            var events = Int16(POLLIN)
            if written < request.count { events |= Int16(POLLOUT) }
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready < 0 && errno != EINTR { return (reply, .ended) }
            if ready <= 0 { continue }
            if written < request.count, descriptor.revents & Int16(POLLOUT) != 0 {
                let count = request.withUnsafeBytes { raw in
                    send(socket, raw.baseAddress.map { $0 + written }, raw.count - written, Int32(MSG_NOSIGNAL))
                }
                if count > 0 { written += count }
                if count < 0 && errno != EAGAIN && errno != EINTR { return (reply, .ended) }
            }
            if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let count = recv(socket, &chunk, chunk.count, 0)
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if count <= 0 { return (reply, .ended) }
                let first = reply.count < 8
                reply += chunk.prefix(count)
                if reply.count >= 8 {
                    let announced = (0..<8).reduce(0) { $0 | Int(reply[$1]) << (8 * $1) }
                    if announced < 0 || announced > maxReply { return (reply, .tooLong) }
                    // Room for the whole answer at once, instead of growing with it.
                    if first { reply.reserveCapacity(8 + announced) }
                    if reply.count >= 8 + announced { return (reply, .finished) }
                }
            }
        }
    }
}
