/// `1 file`, `3 files`: a count and its noun, for messages (the shell's and DQL's alike).
public func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
