/// File paths handled as text, without Foundation's `NSString` path methods: the Foundation
/// this project builds with traps (SIGILL) on some one-character paths, for instance
/// `("o" as NSString).deletingLastPathComponent`, so `fetch F to o` crashed.
public enum PathText {
    /// The directory part of `path` ("" for a bare name, "/" for a child of the root).
    public static func parent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let parent = trimmed[..<slash]
        return parent.isEmpty ? "/" : String(parent)
    }

    /// `name` inside `directory`.
    public static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// `IM0.dcm` → (`IM0`, `dcm`); a name without an extension (or only a leading dot, as
    /// `.hidden`) has an empty one.
    public static func splitExtension(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, name.index(after: dot) != name.endIndex
        else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }
}
