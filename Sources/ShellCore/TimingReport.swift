import DQL

/// The line timing mode prints after a statement:
/// `Time: 41.3 ms (parse and compile 0.1 ms, server query 1.2 ms, transfer 38.9 ms: 12.3 MB at 316 MB/s, …)`.
enum TimingReport {
    static func line(total: Duration, profile: StatementProfile) -> String {
        var parts: [String] = []
        for phase in StatementProfile.Phase.allCases {
            let duration = profile[phase]
            guard duration > .zero || phase == .compile else { continue }
            var part = "\(phase.rawValue) \(formatSeconds(duration.seconds))"
            if phase == .transfer && profile.bytesTransferred > 0 {
                let rate = duration.seconds > 0 ? Double(profile.bytesTransferred) / duration.seconds : 0
                part += ": \(formatBytes(profile.bytesTransferred)) at \(formatBytes(Int(rate)))/s"
            }
            if phase == .write { part += " (summed over connections)" }
            parts.append(part)
        }
        return "Time: \(formatSeconds(total.seconds)) (" + parts.joined(separator: ", ") + ")"
    }
}
