import CSystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// GDCM runs in a process of its own, `dql-decode`: Debian's GDCM keeps its assertions, and
/// damaged JPEG data makes it abort (`Assertion (precision - 1) >= 0 failed`), which in dql's
/// process would end the session. A decode costs a process start (about 2 ms) and a copy of
/// the file and of the pixels through pipes.
enum DecoderProcess {
    /// What `dql-decode` answered: the decoded layout and the pixels.
    struct Decoded {
        var columns, rows, frames, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation,
            planarConfiguration: Int
        var photometric: String
        var pixels: [UInt8]
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

    /// Decodes `file` (a whole DICOM file) in `dql-decode`.
    static func decode(
        _ file: [UInt8], maxLength: Int, isCancelled: () -> Bool = { false }, helper explicit: String? = nil,
        deadline: Double = deadlineSeconds
    ) throws(ImageError) -> Decoded {
        guard let helper = explicit ?? located else {
            throw ImageError("its pixel data needs dql-decode (GDCM), which is not installed beside dql")
        }
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard pipe(&input) == 0 else {
            throw ImageError("cannot start dql-decode: \(String(cString: strerror(errno)))")
        }
        guard pipe(&output) == 0 else {
            close(input[0])
            close(input[1])
            throw ImageError("cannot start dql-decode: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        // The helper keeps only its standard descriptors: one started at the same moment by
        // another thread must not hold this one's pipes (holding its input open, this helper
        // would never see the end of it).
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        // What GDCM prints (its codecs' complaints, an assertion, the Swift runtime's backtrace
        // of a crash) is not the user's business: the answer says what went wrong.
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [helper, String(maxLength)]
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
        let spawned = posix_spawn(&child, helper, &actions, nil, &argv, &environment)
        close(input[0])
        close(output[1])
        guard spawned == 0 else {
            close(input[1])
            close(output[0])
            throw ImageError("cannot start \(helper): \(String(cString: strerror(spawned)))")
        }
        let outcome = exchange(
            file, input: input[1], output: output[0], child: child, maxReply: maxLength + 4096, deadline: deadline,
            isCancelled: isCancelled)
        var reply = outcome.reply
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        switch outcome.stop {
        case .cancelled: throw ImageError.cancelled
        case .timedOut:
            throw ImageError(
                "the decoder (GDCM) gave no answer within \(Int(deadline)) s, and was stopped")
        case .tooLong:
            throw ImageError("the decoder (GDCM) answered more than the \(maxLength) bytes of pixels the header allows")
        case .finished: break
        }
        // WIFSIGNALED / WTERMSIG, spelled out (the macros do not come through to Swift).
        let signal = status & 0x7F
        // Ctrl-C reaches the helper too (it is in the terminal's process group).
        if signal == SIGINT { throw ImageError.cancelled }
        if signal != 0 && signal != 0x7F {
            throw ImageError(
                "the decoder (GDCM) crashed on its pixel data (signal \(signal)): the data is damaged, or GDCM cannot read it"
            )
        }
        if reply.starts(with: Array("ERR\n".utf8)) {
            throw ImageError(String(decoding: reply.dropFirst(4), as: UTF8.self))
        }
        let headerLength = 3 + 8 * 4 + 32 + 8
        guard reply.starts(with: Array("OK\n".utf8)), reply.count >= headerLength else {
            throw ImageError("dql-decode gave no answer (exit status \((status >> 8) & 0xFF))")
        }
        func field(_ index: Int) -> Int {
            let at = 3 + index * 4
            return (0..<4).reduce(0) { $0 | Int(reply[at + $1]) << (8 * $1) }
        }
        let photometricBytes = reply[(3 + 32)..<(3 + 32 + 32)]
        var photometric = String(decoding: photometricBytes.prefix { $0 != 0 }, as: UTF8.self)
        while photometric.last == " " { photometric.removeLast() }
        let length = (0..<8).reduce(0) { $0 | Int(reply[3 + 64 + $1]) << (8 * $1) }
        guard length == reply.count - headerLength else {
            throw ImageError("dql-decode answered \(reply.count - headerLength) bytes of pixels, announcing \(length)")
        }
        let fields = (0..<8).map(field)
        // The pixels without a second copy of them.
        reply.removeFirst(headerLength)
        return Decoded(
            columns: fields[0], rows: fields[1], frames: fields[2], samplesPerPixel: fields[3],
            bitsAllocated: fields[4], bitsStored: fields[5], pixelRepresentation: fields[6],
            planarConfiguration: fields[7], photometric: photometric, pixels: reply)
    }

    /// How long a decode may take: GDCM spends seconds on some damaged JPEG-LS, and a large
    /// film takes a while, but a decoder that answers nothing for this long is stuck.
    static let deadlineSeconds: Double = 120

    enum Stop { case finished, cancelled, timedOut, tooLong }

    /// Writes `file` to the helper and reads its answer, both without blocking, checking the
    /// deadline and `isCancelled` every 100 ms; on anything but a finished answer the helper
    /// is killed.
    static func exchange(
        _ file: [UInt8], input: Int32, output: Int32, child: pid_t, maxReply: Int, deadline: Double,
        isCancelled: () -> Bool
    ) -> (reply: [UInt8], stop: Stop) {
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
        var inputOpen = true
        var written = 0
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let started = ContinuousClock.now
        var stop = Stop.finished
        defer {
            if inputOpen { close(input) }
            close(output)
            if stop != .finished { kill(child, SIGKILL) }
        }
        if file.isEmpty {
            close(input)
            inputOpen = false
        }
        while true {
            if isCancelled() {
                stop = .cancelled
                break
            }
            if ContinuousClock.now - started > .seconds(deadline) {
                stop = .timedOut
                break
            }
            var descriptors = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
            if inputOpen { descriptors.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), 100)
            if ready < 0 && errno != EINTR { break }
            if ready <= 0 { continue }
            if inputOpen, descriptors.count > 1, descriptors[1].revents != 0 {
                let count = file.withUnsafeBytes { raw in
                    write(input, raw.baseAddress! + written, raw.count - written)
                }
                if count > 0 { written += count }
                // Written whole, or the helper stopped reading (it died): no more input.
                if written == file.count || (count < 0 && errno != EAGAIN && errno != EINTR) {
                    close(input)
                    inputOpen = false
                }
            }
            if descriptors[0].revents != 0 {
                let count = read(output, &chunk, chunk.count)
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if count <= 0 { break }
                reply += chunk.prefix(count)
                if reply.count > maxReply {
                    stop = .tooLong
                    break
                }
            }
        }
        return (reply, stop)
    }
}
