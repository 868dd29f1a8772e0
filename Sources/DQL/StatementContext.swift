/// What a running statement reports to and asks of the shell: where its time goes, how far it
/// has got, and whether the user asked it to stop.
public struct StatementContext: Sendable {
    public var profile: ProfileRecorder
    public var activity: Activity
    /// Polled between chunks and between files; when it turns true the statement stops and
    /// cleans up after itself.
    public var isCancelled: @Sendable () -> Bool

    public init(
        profile: ProfileRecorder = ProfileRecorder(), activity: Activity = Activity(),
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) {
        self.profile = profile
        self.activity = activity
        self.isCancelled = isCancelled
    }
}
