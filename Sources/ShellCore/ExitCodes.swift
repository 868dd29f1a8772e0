/// The process exit codes `dql` documents for scripts.
enum ExitCodes {
    /// Everything ran.
    static let success: Int32 = 0
    /// A statement failed (syntax, unknown field, bad file, …).
    static let statement: Int32 = 1
    /// The command line itself was wrong.
    static let usage: Int32 = 64
    /// The server could not be reached, refused the credentials, or lacks the needed modules.
    static let connection: Int32 = 69
    /// Ctrl-C stopped a script or a statement in it (128 + SIGINT, as shells report it).
    static let interrupted: Int32 = 130
}
