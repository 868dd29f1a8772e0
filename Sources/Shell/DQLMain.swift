// The `dql` executable: everything it does lives in ShellCore, where tests run it in-process.
import ArgumentParser
import ShellCore

@main
extension DQLCommand {}
