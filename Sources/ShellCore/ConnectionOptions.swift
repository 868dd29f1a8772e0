import ArgumentParser
import Foundation
import RedisIO

/// `--url` and how it falls back to `REDIS_URL` and the default server, and the TLS settings
/// for `rediss://` URLs (each also read from a `DQL_TLS_*` environment variable, for scripts).
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Redis server, redis://[user[:password]@]host[:port][/db], or rediss://… for TLS. Default: $REDIS_URL, else redis://127.0.0.1:6379.",
            valueName: "url"))
    var url: String?

    @Option(name: .long, help: "Seconds to wait for the connection.")
    var connectTimeout: Double = 5

    @Option(
        name: .customLong("tls-ca"),
        help: ArgumentHelp(
            "PEM file of CA certificates to trust for rediss:// (default: the system's trust store; $DQL_TLS_CA).",
            valueName: "file"))
    var tlsCA: String?

    @Option(
        name: .customLong("tls-ca-dir"),
        help: ArgumentHelp("Directory of hashed CA certificates to trust ($DQL_TLS_CA_DIR).", valueName: "dir"))
    var tlsCADirectory: String?

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp(
            "PEM client certificate, for servers that ask for one ($DQL_TLS_CERT).", valueName: "file"))
    var tlsCertificate: String?

    @Option(
        name: .customLong("tls-key"),
        help: ArgumentHelp("PEM private key of --tls-cert ($DQL_TLS_KEY).", valueName: "file"))
    var tlsKey: String?

    @Option(
        name: .customLong("tls-server-name"),
        help: ArgumentHelp(
            "Name to send (SNI) and to expect in the server's certificate (default: the URL's host; $DQL_TLS_SERVER_NAME).",
            valueName: "name"))
    var tlsServerName: String?

    @Flag(
        name: .customLong("tls-insecure"),
        help: "Accept any server certificate: no check of who answers ($DQL_TLS_INSECURE=1). For testing only.")
    var tlsInsecure = false

    /// The configuration the options describe; warns on stderr when TLS is told not to check
    /// the server.
    func configuration() throws -> RedisConfiguration {
        let configuration = try configuration(environment: ProcessInfo.processInfo.environment)
        if configuration.effectiveTLS?.verifiesServer == false { printError(Self.insecureWarning) }
        return configuration
    }

    func configuration(environment: [String: String]) throws -> RedisConfiguration {
        guard connectTimeout.isFinite, connectTimeout > 0, connectTimeout <= 3600 else {
            throw RedisError(.invalidURL, "--connect-timeout must be a number of seconds above 0 and at most 3600")
        }
        let resolved = try RedisURL.resolve(explicit: url, environment: environment)
        let tls = try tlsOptions(environment: environment)
        if !resolved.usesTLS, let flag = explicitTLSFlag {
            throw RedisError(
                .invalidURL,
                "\(flag) is for TLS connections, but the URL is \(resolved): use rediss:// to connect with TLS")
        }
        return RedisConfiguration(url: resolved, connectTimeout: connectTimeout, tls: tls)
    }

    /// The first TLS flag given on the command line, for the message when the URL is plain.
    private var explicitTLSFlag: String? {
        if tlsCA != nil { return "--tls-ca" }
        if tlsCADirectory != nil { return "--tls-ca-dir" }
        if tlsCertificate != nil { return "--tls-cert" }
        if tlsKey != nil { return "--tls-key" }
        if tlsServerName != nil { return "--tls-server-name" }
        if tlsInsecure { return "--tls-insecure" }
        return nil
    }

    /// The TLS settings from the flags, else the environment; files are checked here so a
    /// typo is a usage error, not a failed handshake.
    func tlsOptions(environment: [String: String]) throws -> TLSOptions {
        func pick(_ flag: String?, _ variable: String) -> String? {
            if let flag { return flag }
            guard let value = environment[variable], !value.isEmpty else { return nil }
            return value
        }
        let insecureValue = environment["DQL_TLS_INSECURE"] ?? ""
        let options = TLSOptions(
            caFile: pick(tlsCA, "DQL_TLS_CA"), caDirectory: pick(tlsCADirectory, "DQL_TLS_CA_DIR"),
            certificateFile: pick(tlsCertificate, "DQL_TLS_CERT"), keyFile: pick(tlsKey, "DQL_TLS_KEY"),
            serverName: pick(tlsServerName, "DQL_TLS_SERVER_NAME"),
            verifiesServer: !(tlsInsecure || ["1", "yes", "true", "on"].contains(insecureValue.lowercased())))
        let files: [(String, String?, Bool)] = [
            ("--tls-ca", options.caFile, false), ("--tls-ca-dir", options.caDirectory, true),
            ("--tls-cert", options.certificateFile, false), ("--tls-key", options.keyFile, false),
        ]
        for (flag, path, isDirectory) in files {
            guard let path else { continue }
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &directory),
                directory.boolValue == isDirectory, FileManager.default.isReadableFile(atPath: path)
            else {
                throw RedisError(
                    .invalidURL, "\(flag) \(path): no readable \(isDirectory ? "directory" : "file") there")
            }
        }
        if options.keyFile != nil && options.certificateFile == nil {
            throw RedisError(.invalidURL, "--tls-key needs --tls-cert (the certificate the key belongs to)")
        }
        if let name = options.serverName, name.isEmpty || name.utf8.count > 253 || name.contains(where: \.isWhitespace)
        {
            throw RedisError(.invalidURL, "--tls-server-name '\(name)' is not a host name")
        }
        return options
    }

    /// The warning `--tls-insecure` earns, every time it is used.
    static let insecureWarning =
        "dql: warning: --tls-insecure: the server's certificate is not checked, so dql cannot know who answers; anyone on the path can read and change what it sends, passwords included"
}
