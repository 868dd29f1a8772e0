import ArgumentParser
import DQL
import Foundation
import RedisIO

#if canImport(Glibc)
    import Glibc
#endif

/// `--url` and how it falls back to `REDIS_URL` and the default server, and the TLS settings
/// for `rediss://` URLs (each also read from a `DQL_TLS_*` environment variable, for scripts).
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Redis server, redis://[user:password@]host[:port][/db] (PASSWORD@host for a password alone), or rediss://… for TLS. Default: $REDIS_URL, else redis://127.0.0.1:6379.",
            valueName: "url"))
    var url: String?

    @Option(name: .long, help: "Seconds to wait for the connection.")
    var connectTimeout: Double = 5

    @Flag(
        name: .long,
        help:
            "Ask for the server's password (without echo); a bare name in the URL (redis://NAME@host) is then the user."
    )
    var password = false

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
    /// With `--password`, asks for it on the terminal first (a failure is printed and ends
    /// the program with its exit status).
    func configuration() throws -> RedisConfiguration {
        var configuration = try configuration(environment: ProcessInfo.processInfo.environment)
        if configuration.effectiveTLS?.verifiesServer == false { printError(Self.insecureWarning) }
        if password {
            Interrupt.install()
            let answer = Terminal.readSecret(prompt: "Password for \(configuration.url): ")
            switch answer {
            case .typed(let secret): configuration.url.password = secret
            case .noTerminal:
                printError("dql: --password needs a terminal to ask on")
                throw ExitCode(ExitCodes.usage)
            case .ended:
                printError("dql: no password was given")
                throw ExitCode(ExitCodes.usage)
            case .interrupted:
                printError("dql: interrupted")
                throw ExitCode(Interrupt.exitCode)
            }
        }
        return configuration
    }

    func configuration(environment: [String: String]) throws -> RedisConfiguration {
        guard connectTimeout.isFinite, connectTimeout > 0, connectTimeout <= 3600 else {
            throw RedisError(.invalidURL, "--connect-timeout must be a number of seconds above 0 and at most 3600")
        }
        let resolved = try RedisURL.resolve(
            explicit: url, environment: environment, bareUserInfo: password ? .username : .password)
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
    /// typo is a usage error naming where the setting came from, not a failed handshake.
    func tlsOptions(environment: [String: String]) throws -> TLSOptions {
        /// The value and what to call it in a message: the flag, or the variable it came from.
        func pick(_ flag: String?, _ flagName: String, _ variable: String) -> (value: String, source: String)? {
            if let flag { return (flag, flagName) }
            guard let value = environment[variable], !value.isEmpty else { return nil }
            return (value, "$" + variable)
        }
        let insecureValue = environment["DQL_TLS_INSECURE"] ?? ""
        let ca = pick(tlsCA, "--tls-ca", "DQL_TLS_CA")
        let caDirectory = pick(tlsCADirectory, "--tls-ca-dir", "DQL_TLS_CA_DIR")
        let certificate = pick(tlsCertificate, "--tls-cert", "DQL_TLS_CERT")
        let key = pick(tlsKey, "--tls-key", "DQL_TLS_KEY")
        let serverName = pick(tlsServerName, "--tls-server-name", "DQL_TLS_SERVER_NAME")
        for (setting, isDirectory) in [(ca, false), (caDirectory, true), (certificate, false), (key, false)] {
            guard let setting else { continue }
            if let problem = Self.fileProblem(setting.value, directory: isDirectory) {
                throw RedisError(.invalidURL, "\(setting.source) \(excerpt(setting.value)): \(problem)")
            }
        }
        if let key, certificate == nil {
            throw RedisError(.invalidURL, "\(key.source) needs --tls-cert (the certificate the key belongs to)")
        }
        if let certificate, key == nil {
            throw RedisError(
                .invalidURL, "\(certificate.source) needs --tls-key (the private key of the certificate)")
        }
        if let name = serverName?.value,
            name.utf8.count > 253 || name.contains(where: { $0.isWhitespace || $0.isNewline || !$0.isASCII })
        {
            throw RedisError(
                .invalidURL, "\(serverName?.source ?? "--tls-server-name") '\(excerpt(name))' is not a host name")
        }
        let options = TLSOptions(
            caFile: ca?.value, caDirectory: caDirectory?.value, certificateFile: certificate?.value,
            keyFile: key?.value, serverName: serverName?.value,
            verifiesServer: !(tlsInsecure || ["1", "yes", "true", "on"].contains(insecureValue.lowercased())))
        return options
    }

    /// Why `path` cannot be read as a TLS setting's file (or directory), or nil. Only regular
    /// files: a FIFO or a device would block or never end.
    static func fileProblem(_ path: String, directory: Bool) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return "no such \(directory ? "directory" : "file")" }
        let type = status.st_mode & S_IFMT
        if directory {
            guard type == S_IFDIR else { return "not a directory" }
        } else {
            guard type == S_IFREG else { return type == S_IFDIR ? "a directory, not a file" : "not a regular file" }
        }
        guard access(path, R_OK) == 0 else { return "not readable" }
        return nil
    }

    /// The warning `--tls-insecure` earns, every time it is used.
    static let insecureWarning =
        "dql: warning: --tls-insecure: the server's certificate is not checked, so dql cannot know who answers; anyone on the path can read and change what it sends, passwords included"
}
