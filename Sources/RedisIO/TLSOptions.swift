/// How to speak TLS to the server (`rediss://`): whom to trust, what to show, what name to
/// expect. Certificates are verified (chain and host name) unless ``verifiesServer`` is false.
public struct TLSOptions: Sendable, Hashable {
    /// PEM file of CA certificates to trust; with neither this nor ``caDirectory``, the
    /// system's trust store.
    public var caFile: String?
    /// Directory of hashed CA certificates (`c_rehash`) to trust.
    public var caDirectory: String?
    /// PEM client certificate (chain), for servers that ask for one.
    public var certificateFile: String?
    /// PEM private key of ``certificateFile``.
    public var keyFile: String?
    /// The name sent as SNI and expected in the server's certificate; nil: the URL's host.
    public var serverName: String?
    /// False only when told so (`--tls-insecure`): then any certificate is accepted.
    public var verifiesServer: Bool

    public init(
        caFile: String? = nil, caDirectory: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
        serverName: String? = nil, verifiesServer: Bool = true
    ) {
        self.caFile = caFile
        self.caDirectory = caDirectory
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.verifiesServer = verifiesServer
    }

    /// Where trust comes from, for messages.
    var trustDescription: String {
        switch (caFile, caDirectory) {
        case (let file?, let directory?): "the CAs in \(file) and \(directory)"
        case (let file?, nil): "the CAs in \(file)"
        case (nil, let directory?): "the CAs in \(directory)"
        case (nil, nil): "the system's trusted CAs"
        }
    }
}
