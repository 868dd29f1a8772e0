/// Everything needed to open a connection: where, and how long to wait.
public struct RedisConfiguration: Sendable, Equatable {
    public var url: RedisURL
    /// Seconds to wait for the TCP connection to be established.
    public var connectTimeout: Double
    /// Seconds to wait for a reply (or for a send to make progress) before giving up; nil
    /// waits forever.
    public var commandTimeout: Double?
    /// How to speak TLS when the URL is `rediss://` (ignored for `redis://`).
    public var tls: TLSOptions

    public init(url: RedisURL, connectTimeout: Double = 5, commandTimeout: Double? = 60, tls: TLSOptions = TLSOptions())
    {
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.tls = tls
    }

    /// The TLS options in force: nil on a plain `redis://` connection.
    public var effectiveTLS: TLSOptions? { url.usesTLS ? tls : nil }
}
