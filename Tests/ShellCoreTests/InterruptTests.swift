import Foundation
import RedisIO
import Testing

@testable import ShellCore

#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C at the prompt, in-process: the line editor's reader must end the line however the
/// signal's arrival lines up with its `read`.
@Suite(.serialized) struct InterruptTests {
    /// A Ctrl-C that lands while the editor is redrawing (not inside `read`) also makes the
    /// terminal flush the unread keys, so nothing else would wake that read; the line must end
    /// at once, not at the next key. (CI once timed out waiting for "^C" on exactly this.)
    @Test func anInterruptionJustBeforeTheReadEndsTheLine() throws {
        let signals = [SIGINT, SIGTERM, SIGHUP, SIGALRM]
        var saved = Array(repeating: sigaction(), count: signals.count)
        for (index, signal) in signals.enumerated() { sigaction(signal, nil, &saved[index]) }
        defer {
            Interrupt.clear()
            for (index, signal) in signals.enumerated() { sigaction(signal, &saved[index], nil) }
        }
        var descriptors: [Int32] = [-1, -1]
        try #require(pipe(&descriptors) == 0)
        let stream = try #require(fdopen(descriptors[0], "r"))
        defer {
            fclose(stream)
            close(descriptors[1])
        }

        Interrupt.install()
        // This process runs other suites' Redis traffic meanwhile: their waits must not see
        // this test's Ctrl-C.
        NetworkInterruption.install(descriptor: -1) { false }
        raise(SIGINT)
        #expect(Interrupt.isPending)
        // A key typed two seconds later must not be what ends the wait.
        let writeEnd = descriptors[1]
        let typed = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
            var key = UInt8(ascii: "x")
            _ = write(writeEnd, &key, 1)
            typed.signal()
        }
        #expect(lineEditorGetCharacter(stream) == EOF)
        // The pipe stays open until that key is written: once closed, its descriptor number
        // can be another suite's Redis socket, and the key would land in that stream (two full
        // runs saw "ERR unknown command 'x*17'" and "'x*2'" from exactly this).
        typed.wait()

        // Once cleared, keys are read again.
        Interrupt.clear()
        var key = UInt8(ascii: "y")
        _ = write(writeEnd, &key, 1)
        #expect(lineEditorGetCharacter(stream) != EOF)
    }
}
