// libFuzzer entry point for DQL's lexer, parser and compiler: any bytes in, never a crash, a
// hang or a runaway allocation out, and every diagnostic renders within bounds. Built and run
// by scripts/fuzz.sh dql.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDQL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let source = String(decoding: UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    let (statements, error) = Parser.parseUntilError(source)
    let compiler = Compiler()
    for parsed in statements {
        do {
            let plan = try compiler.compile(parsed.statement)
            _ = plan.commands
            if case .explain(_, let serverPlan) = plan { _ = serverPlan }
        } catch {
            check(error, in: source)
        }
    }
    if let error { check(error, in: source) }
    return 0
}

/// A diagnostic renders as a few short lines, whatever the input.
private func check(_ error: DQLError, in source: String) {
    let rendered = error.shifted(lines: 3, bytes: 10).rendered(
        source: "\n\n\n" + source, file: "fuzz.dql", firstLine: 1)
    if rendered.utf8.count > 2_000 { fatalError("a diagnostic of \(rendered.utf8.count) bytes: \(error)") }
    _ = error.fixIt
    _ = error.help
    _ = error.id
}
