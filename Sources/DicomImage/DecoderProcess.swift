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
        for candidate in [directory + "/dql-decode", directory + "/../lib/dql/dql-decode"]
        where access(candidate, X_OK) == 0 {
            return candidate
        }
        return nil
    }

    /// Decodes `file` (a whole DICOM file) in `dql-decode`.
    static func decode(_ file: [UInt8], maxLength: Int) throws(ImageError) -> Decoded {
        guard let helper = helperPath() else {
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
        // The helper reads all of its input before it writes: write everything, then read.
        var failed = false
        file.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(input[1], raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 {
                    failed = true
                    return
                }
                offset += written
            }
        }
        close(input[1])
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(output[0], &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            reply += chunk.prefix(count)
        }
        close(output[0])
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        // WIFSIGNALED / WTERMSIG, spelled out (the macros do not come through to Swift).
        let signal = status & 0x7F
        if signal != 0 && signal != 0x7F {
            throw ImageError(
                "the decoder (GDCM) crashed on its pixel data (signal \(signal)): the data is damaged or beyond what GDCM reads"
            )
        }
        if reply.starts(with: Array("ERR\n".utf8)) {
            throw ImageError(String(decoding: reply.dropFirst(4), as: UTF8.self))
        }
        let headerLength = 3 + 8 * 4 + 32 + 8
        guard !failed, reply.starts(with: Array("OK\n".utf8)), reply.count >= headerLength else {
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
        return Decoded(
            columns: field(0), rows: field(1), frames: field(2), samplesPerPixel: field(3), bitsAllocated: field(4),
            bitsStored: field(5), pixelRepresentation: field(6), planarConfiguration: field(7),
            photometric: photometric, pixels: Array(reply[headerLength...]))
    }
}
