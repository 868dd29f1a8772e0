import Foundation
import RedisIO
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 13's defects as a user meets them, with the built `dql`: each test failed before its
/// fix.
@Suite(.serialized) struct CorrectnessShellTests {
    /// `fetch … to ~/fx` wrote into a directory literally named `~`; `load ~/x` said "no such
    /// file".
    @Test func tildeIsExpandedInEveryPath() throws {
        let fixture = try ShellFixture()
        let home = fixture.directory.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let work = fixture.directory.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "XA")], to: home.appendingPathComponent("mine.dcm").path)
        try "count where modality = 'XA'\n".write(
            to: home.appendingPathComponent("s.dql"), atomically: true, encoding: .utf8)
        let result = try fixture.run(
            [
                "-c", "fetch 'CT_small.dcm' to ~/fx", "-c", "load ~/mine.dcm", "-c", "\\o ~/out.txt", "-c",
                "\\i ~/s.dql",
            ], environment: ["HOME": home.path], currentDirectory: work.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("fx/CT_small.dcm").path))
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("~").path))
        let written = try String(contentsOf: home.appendingPathComponent("out.txt"), encoding: .utf8)
        #expect(parseTable(written).rows == [["1"]], "\(written)")
    }

    /// `dql --prefix typo -c count` printed 0 and created `typo:{m}:idx` and `typo:{m}:schema`.
    @Test func aReadingStatementUnderAnEmptyPrefixWritesNothingAndSaysSo() throws {
        let fixture = try ShellFixture(load: false)
        let prefix = "typo-\(UUID().uuidString.prefix(6))"
        let result = try fixture.run(["--prefix", prefix, "-c", "count"])
        #expect(result.status == 1)
        #expect(
            result.stderr == """
                1:1: error: no dql data under prefix '\(prefix)' on \(fixture.url.endpoint)
                    count
                    ^~~~~
                    help: `load` files first, or check --prefix (or $DQL_PREFIX)

                """)
        #expect(try TestRedis.connection().keys(matching: prefix + ":*").isEmpty)
    }

    /// A script line that starts with `and` ran as a separate (failing) statement after the
    /// delete before it had deleted too much.
    @Test func aDeleteSplitOverScriptLinesDeletesWhatTheWholeConditionSays() throws {
        let fixture = try ShellFixture()
        let script = try fixture.script(
            "d.dql", "delete where modality = 'MR'\n  and name = 'MR_small.dcm'\ncount where modality = 'MR'\n")
        let result = try fixture.run(["--format", "csv", "-f", script])
        #expect(result.status == 0, "\(result.stderr)")
        let mr = try ShellFixture.oracleValues("Modality").values.filter { $0 == "MR" }.count
        #expect(result.stdout == "deleted\r\n1\r\ncount\r\n\(mr - 1)\r\n")
    }

    /// A FIFO hung the load in open(); damaged headers loaded silently; a failed file did not
    /// show in the exit status.
    @Test(.timeLimit(.minutes(1))) func specialAndDamagedFilesInALoadAreNamedAndTheLoadGoesOn() throws {
        let fixture = try ShellFixture(load: false)
        let input = fixture.directory.appendingPathComponent("mixed")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "CT")], to: input.appendingPathComponent("good.dcm").path)
        var cut = SmallDicom.bytes([.init(0x0008, 0x0060, "CS", "MR"), .init(0x0010, 0x0010, "PN", "Test^Nasty")])
        cut.removeLast(3)
        try Data(cut).write(to: input.appendingPathComponent("cut.dcm"))
        // Cut inside Pixel Data (a transfer cut short): the header is whole, the file is not.
        var pixels = SmallDicom.bytes([
            .init(0x0008, 0x0060, "CS", "CT"), .init(0x7FE0, 0x0010, "OB", String(repeating: "p", count: 400)),
        ])
        pixels.removeLast(100)
        try Data(pixels).write(to: input.appendingPathComponent("short.dcm"))
        try Data("hello\n".utf8).write(to: input.appendingPathComponent("notes.txt"))
        #expect(mkfifo(input.appendingPathComponent("pipe").path, 0o644) == 0)
        let result = try fixture.run(["-c", "load '\(input.path)'", "--continue-on-error", "-c", "count"])
        #expect(result.status == 1, "a load with a failed file exits 1: \(result.stderr)")
        #expect(result.stderr.contains("cannot load \(input.path)/pipe: not a regular file (a FIFO)"))
        #expect(result.stderr.contains("cannot load \(input.path)/notes.txt: not DICOM"))
        #expect(result.stderr.contains("loaded \(input.path)/cut.dcm, which is damaged: error: (0010,0010)"))
        #expect(result.stderr.contains("loaded \(input.path)/short.dcm, which is damaged: error: (7FE0,0010)"))
        #expect(result.stdout.contains("loaded 3 files"))
        #expect(result.stdout.contains("2 damaged, 2 failed"))
        let counted = result.stdout.split(separator: "\n", maxSplits: 1).last.map(String.init) ?? ""
        #expect(parseTable(counted).rows == [["3"]], "\(result.stdout)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
    }

    /// A `find … fetch` that failed part way printed the whole table and the error, and never
    /// said how many of the files had been written.
    @Test func aFetchThatStopsPartWaySaysHowManyFilesItWrote() throws {
        let fixture = try ShellFixture()
        // One file's bytes lost on the server.
        let connection = try TestRedis.connection()
        let chunks = try connection.keys(matching: fixture.prefix + ":chunk:*")
        let victim = try #require(chunks.first)
        try connection.call("DEL", victim)
        let out = fixture.directory.appendingPathComponent("out")
        let result = try fixture.run(["-c", "find fetch to '\(out.path)'"])
        #expect(result.status != 0)
        let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        let total = ShellFixture.corpusNames.count
        #expect(written.count < total)
        #expect(
            result.stderr.contains(
                "fetched \(written.count) of \(total) files before the statement stopped; each of those is whole and verified"
            ),
            "\(result.stderr)")
        #expect(result.stderr.contains("is missing"), "\(result.stderr)")
    }

    /// `fetch F to o` (a relative directory of one letter, not there yet) and a file named
    /// with one letter crashed dql with SIGILL inside Foundation's NSString path methods.
    @Test func oneLetterPathsAndNamesWork() throws {
        let fixture = try ShellFixture(load: false)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try Corpus.path("pydicom/test_files/CT_small.dcm")))
        try bytes.write(to: fixture.directory.appendingPathComponent("a"))
        let load = try fixture.run(["-c", "load a"], currentDirectory: fixture.directory.path)
        #expect(load.status == 0, "\(load.stderr)")
        for target in ["o", "p/", "x/y"] {
            let fetch = try fixture.run(["-c", "fetch 'a' to \(target)"], currentDirectory: fixture.directory.path)
            #expect(fetch.status == 0, "\(target): \(fetch.stderr)")
            let written = fixture.directory.appendingPathComponent(target).appendingPathComponent("a")
            #expect(FileManager.default.contents(atPath: written.path) == bytes, "\(target)")
        }
        let again = try fixture.run(["-c", "fetch 'a' to o"], currentDirectory: fixture.directory.path)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("1 already there with the same bytes"), "\(again.stdout)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.appendingPathComponent("o/a_2").path))
    }

    /// An unreadable subdirectory aborted a recursive load with a raw Foundation error.
    @Test func anUnreadableDirectoryIsSkippedAndNamed() throws {
        let fixture = try ShellFixture(load: false)
        let input = fixture.directory.appendingPathComponent("tree")
        let closed = input.appendingPathComponent("closed")
        try FileManager.default.createDirectory(at: closed, withIntermediateDirectories: true)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "CT")], to: input.appendingPathComponent("a.dcm").path)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "MR")], to: closed.appendingPathComponent("b.dcm").path)
        chmod(closed.path, 0)
        defer { chmod(closed.path, 0o755) }
        // root reads any directory: run dql as nobody then.
        var arguments = [DQLBinary.path, "-c", "load '\(input.path)' recursive"]
        if geteuid() == 0 {
            chmod(fixture.directory.path, 0o755)
            chmod(input.path, 0o755)
            chmod(input.appendingPathComponent("a.dcm").path, 0o644)
            arguments = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + arguments
        }
        var environment = ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 }
        environment["HOME"] = fixture.directory.path
        environment["DQL_HISTORY"] = ""
        let result = try ProcessResult.run(arguments[0], Array(arguments.dropFirst()), environment: environment)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("cannot load \(closed.path): cannot read the directory: permission denied"))
        #expect(result.stdout.contains("loaded 1 file"))
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
    }

    /// `fetch … to` a path that is a file printed `NSCocoaErrorDomain Code=516`.
    @Test func fetchIntoAFileSaysWhatIsWrong() throws {
        let fixture = try ShellFixture()
        let file = fixture.directory.appendingPathComponent("plain.txt")
        try Data("x".utf8).write(to: file)
        let result = try fixture.run(["-c", "fetch 'CT_small.dcm' to '\(file.path)'"])
        #expect(result.status == 1)
        #expect(
            result.stderr.hasPrefix("1:1: error: cannot write \(file.path): it is a regular file, not a directory\n"))
        #expect(!result.stderr.contains("NSCocoa"))
    }

    @Test func aUrlNamingAnotherDatabaseIsRefusedAtConnect() throws {
        let fixture = try ShellFixture(load: false)
        let result = try fixture.run(["--url", "redis://\(fixture.url.endpoint)/3", "-c", "count"])
        #expect(result.status == 64)
        #expect(
            result.stderr.contains(
                "dql needs database 0; RediSearch indexes only database 0, and the URL selects database 3"),
            "\(result.stderr)")
    }

    @Test func showOfAnIdThatIsNotStoredFails() throws {
        let fixture = try ShellFixture()
        let id = String(repeating: "0", count: 64)
        let result = try fixture.run(["-c", "show '\(id)'"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("1:6: error: no file with id \(id)\n"))
    }

    /// With a read-only account a load printed one NOPERM per file and exited 0. Now a
    /// read-only account is told before anything is written, and an account refused only part
    /// way (it may delete but not set keys) has its load stop once with the reason.
    @Test func aLoadRefusedForEveryFileStopsOnceWithTheReason() throws {
        let fixture = try ShellFixture()
        let admin = try TestRedis.connection()
        let readOnly = "dqlro-\(UUID().uuidString.prefix(6))"
        let partial = "dqlpart-\(UUID().uuidString.prefix(6))"
        try admin.call("ACL", "SETUSER", readOnly, "on", ">secret", "~*", "&*", "+@all", "-@write")
        try admin.call("ACL", "SETUSER", partial, "on", ">secret", "~*", "&*", "+@all", "-set")
        defer { _ = try? admin.call("ACL", "DELUSER", readOnly, partial) }
        let input = fixture.directory.appendingPathComponent("new")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for index in 0..<4 {
            try SmallDicom.write(
                [.init(0x0008, 0x0060, "CS", "CT"), .init(0x0020, 0x0013, "IS", "\(index)")],
                to: input.appendingPathComponent("n\(index).dcm").path)
        }
        for (user, said) in [(readOnly, "may not change the store"), (partial, "load stopped: ")] {
            let url = "redis://\(user):secret@\(fixture.url.endpoint)"
            let result = try fixture.run(["--url", url, "-c", "load '\(input.path)'"])
            #expect(result.status == 1)
            #expect(result.stderr.components(separatedBy: "NOPERM").count == 2, "said once: \(result.stderr)")
            #expect(result.stderr.contains(said), "\(result.stderr)")
            #expect(!result.stderr.contains("cannot load"))
            #expect(!result.stderr.contains("secret"))
            // Reading still works for that account, and nothing new was stored.
            let count = try fixture.run(["--url", url, "-c", "count"])
            #expect(count.status == 0, "\(count.stderr)")
            #expect(count.stdout.contains("\(ShellFixture.corpusNames.count)"), "\(count.stdout)")
        }
    }

    /// An account that may not run FT.CONFIG was told the server answers timeouts with part
    /// of the answer, which dql could not know (the server may well be set to fail).
    @Test func anAccountThatCannotReadTheSettingsIsToldSo() throws {
        let fixture = try ShellFixture()
        let user = "dqlcfg-\(UUID().uuidString.prefix(6))"
        let admin = try TestRedis.connection()
        try admin.call("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-ft.config")
        defer { _ = try? admin.call("ACL", "DELUSER", user) }
        let result = try fixture.run(["--url", "redis://\(user):secret@\(fixture.url.endpoint)", "-c", "count"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr.contains("this account may not read RediSearch's settings (FT.CONFIG)"), "\(result.stderr)")
        #expect(!result.stderr.contains("ON_TIMEOUT RETURN"))
    }

    /// A load of a directory that holds only subdirectories said "loaded 0 files" and nothing
    /// of what it left out.
    @Test func aLoadSaysWhichSubdirectoriesItLeftOut() throws {
        let fixture = try ShellFixture(load: false)
        let top = fixture.directory.appendingPathComponent("top")
        for name in ["s1", "s2"] {
            let directory = top.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try SmallDicom.write(
                [.init(0x0008, 0x0060, "CS", "CT")], to: directory.appendingPathComponent("f.dcm").path)
        }
        let result = try fixture.run(["-c", "load '\(top.path)'"])
        #expect(result.stdout.hasPrefix("loaded 0 files"))
        #expect(
            result.stderr.contains("left out 2 subdirectories; `load … recursive` descends into them"),
            "\(result.stderr)")
        let recursive = try fixture.run(["-c", "load '\(top.path)' recursive"])
        #expect(recursive.stdout.hasPrefix("loaded 1 file"), "\(recursive.stdout)")
        #expect(!recursive.stderr.contains("left out"))
    }

    /// A compile error in a script printed two locations and neither the line nor a caret.
    @Test func aScriptErrorHasOneLocationTheLineAndACaret() throws {
        let fixture = try ShellFixture()
        let script = try fixture.script("ce.dql", "count\ncount by sex, sex\n")
        let result = try fixture.run(["-f", script])
        #expect(result.status == 1)
        #expect(
            result.stderr == """
                \(script):2:15: error: 'sex' is grouped twice
                    count by sex, sex
                                  ^~~

                """)
    }

    /// Inputs that killed dql: deep nesting, numbers past Int, a 5 MB word.
    @Test func hostileStatementsGetShortClearErrors() throws {
        let fixture = try ShellFixture()
        let statements = [
            "count where " + String(repeating: "(", count: 750) + "modality = 'CT'"
                + String(repeating: ")", count: 750),
            "count where " + String(repeating: "not ", count: 2000) + "modality = 'CT'",
            "count where date = 1e19", "count where date in (1e400)", "count where date between -1e19 and 1",
            "load x connections 9223372036854775807", "set connections = 9223372036854775807",
            "load x chunk 64GB", "find where " + String(repeating: "q", count: 5_000_000) + " = 1",
        ]
        for statement in statements {
            // On stdin: an argument may not be 5 MB.
            let result = try fixture.run([], input: statement + "\n")
            #expect(result.status == 1, "\(statement.prefix(60))")
            #expect(result.stderr.count < 1000, "\(statement.prefix(60))")
            #expect(result.stderr.contains("error: "))
        }
    }

    /// `dql … | head` must not crash when the reader goes away.
    @Test func aReaderThatGoesAwayEndsTheOutputQuietly() throws {
        let fixture = try ShellFixture()
        let result = try ProcessResult.run(
            "/bin/bash",
            [
                "-c", "\"$0\" -c 'find *' -c 'find *' -c 'count' | head -c 10 >/dev/null; exit ${PIPESTATUS[0]}",
                DQLBinary.path,
            ],
            environment: ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 })
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// After the server restarted, an open shell failed every statement until `\connect`.
    @Test(.timeLimit(.minutes(1))) func theShellCarriesOnAfterTheServerRestarts() throws {
        let server = try ScratchServer()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DQLBinary.path)
        process.arguments = ["--url", server.url.description, "--format", "csv"]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        func answer() throws -> String {
            var text = ""
            // CSV records end with CRLF: "\r\n" is one Character, so lines are split on any newline.
            while text.utf8.last != UInt8(ascii: "\n") || text.split(whereSeparator: \.isNewline).count < 2 {
                let data = output.fileHandleForReading.availableData
                guard !data.isEmpty else { throw TestSetupError("dql ended early: \(text)") }
                text += String(decoding: data, as: UTF8.self)
            }
            return text
        }
        input.fileHandleForWriting.write(Data("stats\n".utf8))
        #expect(try answer().hasPrefix("files,bytes"))
        try server.stop()
        try server.start()
        input.fileHandleForWriting.write(Data("stats\n".utf8))
        #expect(try answer().hasPrefix("files,bytes"))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!stderr.contains("closed the connection"), "\(stderr)")
    }

    /// Errors writing the results were ignored: `dql -c find > /dev/full` exited 0.
    @Test func aResultThatCannotBeWrittenFailsTheStatement() throws {
        let fixture = try ShellFixture()
        let result = try ProcessResult.run(
            "/bin/bash", ["-c", "exec \"$0\" -c 'find name' > /dev/full", DQLBinary.path],
            environment: ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 })
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("error: cannot write the results to stdout: no space left on device"),
            "\(result.stderr)")
    }

    /// Values, names and typed text reached the terminal raw in messages and dumps: an escape
    /// sequence could set the title or clear the screen.
    @Test func textThatCouldDriveTheTerminalIsShownNotObeyed() throws {
        let fixture = try ShellFixture()
        let result = try fixture.run(["-c", "show 'x\\u001b]0;title\\u0007\\u202Eevil'"])
        #expect(result.status == 1)
        #expect(!result.stderr.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" || $0 == "\u{202E}" })
        #expect(result.stderr.contains("\\x1b]0;title\\x07\\u{202E}evil"), "\(result.stderr)")
        let file = fixture.directory.appendingPathComponent("esc.dcm").path
        try SmallDicom.write([.init(0x0010, 0x0010, "PN", "Doe^\u{1B}[2J\u{1B}]0;pwned\u{07}")], to: file)
        let dump = try fixture.run(["dump", file])
        #expect(dump.status == 0)
        #expect(
            !dump.stdout.contains("\u{1B}") && dump.stdout.contains("Doe^\\x1b[2J\\x1b]0;pwned\\x07"), "\(dump.stdout)")
    }

    /// SIGTERM or SIGHUP during a fetch (`timeout`, a closed terminal) left a full-size
    /// `.part` file; now they stop the statement as Ctrl-C does.
    @Test(.timeLimit(.minutes(1))) func terminationDuringAFetchLeavesNoFile() throws {
        let fixture = try ShellFixture(load: false)
        let big = try LargeDicom.write(in: fixture.directory, megabytes: 96)
        #expect(try fixture.run(["-c", "load '\(big)' chunk 8KB"]).status == 0)
        let out = fixture.directory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DQLBinary.path)
        process.arguments = ["-c", "set connections 1", "-c", "fetch 'big.dcm' to '\(out.path)'"]
        process.environment = ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while (try FileManager.default.contentsOfDirectory(atPath: out.path)).isEmpty && Date() < deadline {
            usleep(2_000)
        }
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 143)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == [], "no partial file")
    }

    /// `find … fetch to` a directory that cannot take the files printed the whole result
    /// first, then failed.
    @Test func aFetchDirectoryThatCannotBeUsedFailsBeforeAnyRow() throws {
        let fixture = try ShellFixture()
        let file = fixture.directory.appendingPathComponent("plain")
        try Data("x".utf8).write(to: file)
        let result = try fixture.run(["-c", "find name fetch to '\(file.path)/sub'"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr.contains("cannot write \(file.path): it is a regular file, not a directory"))
    }

    @Test func scriptsComeFromPipesAndEndlessInputIsRefused() throws {
        let fixture = try ShellFixture()
        let environment = ProcessInfo.processInfo.environment.merging(fixture.environment) { $1 }
        let piped = try ProcessResult.run(
            "/bin/bash", ["-c", "exec \"$0\" --format csv -f <(echo count)", DQLBinary.path], environment: environment)
        #expect(
            piped.status == 0 && piped.stdout == "count\r\n\(ShellFixture.corpusNames.count)\r\n", "\(piped.stderr)")
        let endless = try ProcessResult.run(
            "/bin/bash", ["-c", "exec \"$0\" -f <(head -c 80000000 /dev/zero)", DQLBinary.path],
            environment: environment)
        #expect(endless.status == 1)
        #expect(endless.stderr.contains("line 1 is longer than 64 MiB"), "\(endless.stderr)")
        let device = try fixture.run(["-f", "/dev/zero"])
        #expect(device.status == 64 && device.stderr.contains("it is a character device, not a script"))
    }

    /// `explain load …` and `explain vacuum` printed "no search to explain"; they say what the
    /// statement would do, with the settings it would use, and write nothing (not even an index
    /// on an empty prefix).
    @Test func explainSaysWhatLoadAndVacuumWouldDo() throws {
        let fixture = try ShellFixture(load: false)
        let load = try fixture.run(["-c", "explain load '/tmp/scans' recursive chunk 64KB connections 3"])
        #expect(load.status == 0, "\(load.stderr)")
        for step in [
            "-- load reads the files at '/tmp/scans' and its subdirectories",
            "-- the index \(fixture.prefix):{m}:idx is created first if it is missing (FT.CREATE)",
            "every chunk of 64 KiB as SET \(fixture.prefix):chunk:<id>:<n> over 3 connection(s)",
            "writes the document \(fixture.prefix):{m}:file:<id> (JSON.SET)",
        ] {
            #expect(load.stdout.contains(step), "\(step) in \(load.stdout)")
        }
        let vacuum = try fixture.run(["--format", "json", "-c", "explain vacuum"])
        #expect(
            vacuum.stdout.contains("\"steps\":[\"vacuum scans every master for \(fixture.prefix):chunk:<id>:<n> keys"),
            "\(vacuum.stdout)")
        #expect(try TestRedis.scanKeys("\(fixture.prefix):*", TestRedis.connection()).isEmpty, "explain wrote nothing")
    }

    /// Tables are for people: `stats` gave raw byte counts and `show` a raw epoch; tables now
    /// show units and an ISO 8601 time, while JSON keeps the numbers.
    @Test func tablesShowUnitsAndTimesWhileJSONKeepsNumbers() throws {
        let fixture = try ShellFixture()
        let stats = try fixture.run(["-c", "stats"])
        #expect(stats.status == 0, "\(stats.stderr)")
        let bytesLine = stats.stdout.split(separator: "\n").first { $0.hasPrefix("bytes ") }.map(String.init) ?? ""
        #expect(bytesLine.hasSuffix(" KiB") || bytesLine.hasSuffix(" MiB"), "\(bytesLine)")
        let json = try jsonObject(try fixture.run(["--format", "json", "-c", "stats"]).stdout)
        #expect((json["bytes"] as? Int ?? 0) > 100_000, "JSON keeps the number: \(json)")

        let show = try fixture.run(["-c", "show 'CT_small.dcm'"])
        let loaded = show.stdout.split(separator: "\n").first { $0.contains("loadedAt") }.map(String.init) ?? ""
        let time = loaded.split(separator: "|").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        #expect(time.count == 20 && time.hasPrefix("20") && time.hasSuffix("Z") && time.contains("T"), "\(loaded)")
        let document = try fixture.run(["--format", "json", "-c", "show 'CT_small.dcm'"])
        #expect(document.stdout.contains("\"loadedAt\":1"), "JSON keeps seconds since 1970")
    }

    /// `-c "-- a comment"` was taken for an option ("Missing value for '-c'"): a statement
    /// may begin with a dash.
    @Test func aStatementMayBeginWithADash() throws {
        let fixture = try ShellFixture()
        let comment = try fixture.run(["-c", "-- only a comment"])
        #expect(comment.status == 0, "\(comment.stderr)")
        #expect(comment.stdout.isEmpty && comment.stderr.isEmpty)
        let both = try fixture.run(["--format", "csv", "-c", "-- the count", "-c", "count"])
        #expect(both.status == 0, "\(both.stderr)")
        #expect(both.stdout == "count\r\n\(ShellFixture.corpusNames.count)\r\n")
    }

    @Test func commandLineValuesAreChecked() throws {
        let fixture = try ShellFixture(load: false)
        for arguments in [
            ["--connect-timeout", "nan", "-c", "stats"], ["--connect-timeout", "0", "-c", "stats"],
            ["--prefix", "v*", "-c", "count"], ["--prefix", "{m}", "-c", "count"],
        ] {
            let result = try fixture.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
        }
        let prefix = try fixture.run(["--prefix", "v*", "-c", "vacuum"])
        #expect(
            prefix.stderr == "dql: invalid prefix 'v*': the prefix may hold letters, digits and - _ . : only, not '*'\n"
        )
    }

    @Test func hiddenFilesAreLeftOutAndSaidSo() throws {
        let fixture = try ShellFixture(load: false)
        let input = fixture.directory.appendingPathComponent("h")
        try FileManager.default.createDirectory(
            at: input.appendingPathComponent(".cache"), withIntermediateDirectories: true)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "CT")], to: input.appendingPathComponent("a.dcm").path)
        try SmallDicom.write([.init(0x0008, 0x0060, "CS", "MR")], to: input.appendingPathComponent(".b.dcm").path)
        let result = try fixture.run(["-c", "load '\(input.path)' recursive"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("left out 2 hidden names (starting with '.')"), "\(result.stderr)")
        #expect(result.stdout.hasPrefix("loaded 1 file"))
    }
}
