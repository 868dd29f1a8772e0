import DQL
import Foundation
import Synchronization

/// A one-line progress bar on stderr for `load` and `fetch`: files, bytes, rate and time left.
/// Drawn by a thread of its own while the statement runs, only on a terminal, only once the
/// statement has run for a moment (quick statements never flash a bar), and erased at the end
/// so it never mixes with results.
final class ProgressBar: Sendable {
    private let activity: Activity
    private let running = Mutex(true)
    private let finished = DispatchSemaphore(value: 0)

    private init(activity: Activity) {
        self.activity = activity
    }

    /// Starts drawing `activity` if stderr is a terminal; nil otherwise.
    static func start(for activity: Activity, enabled: Bool) -> ProgressBar? {
        guard enabled, Terminal.stderrIsTerminal else { return nil }
        let bar = ProgressBar(activity: activity)
        let thread = Thread { bar.loop() }
        thread.name = "dql.progress"
        thread.start()
        return bar
    }

    func stop() {
        running.withLock { $0 = false }
        finished.wait()
    }

    /// Seconds a statement runs before the bar appears; `DQL_PROGRESS_DELAY_MS` sets it (for
    /// tests, which cannot rely on a load being slow).
    static let delay: Double =
        ProcessInfo.processInfo.environment["DQL_PROGRESS_DELAY_MS"].flatMap(Double.init).map { $0 / 1000 } ?? 0.3

    private func loop() {
        let clock = ContinuousClock()
        let started = clock.now
        var drawn = false
        while running.withLock({ $0 }) {
            let elapsed = (clock.now - started).seconds
            let snapshot = activity.snapshot
            if elapsed >= Self.delay, snapshot.filesTotal > 0 || snapshot.bytesDone > 0 {
                let line = Self.line(snapshot, elapsed: elapsed, width: Terminal.width)
                OutputTarget.standardError.write(("\r" + line + "\u{1B}[K"))
                drawn = true
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        if drawn { OutputTarget.standardError.write("\r\u{1B}[K") }
        finished.signal()
    }

    /// `[#####.....]  12/270 files  34.5 MB of 120 MB  45.6 MB/s  2s left`
    static func line(_ snapshot: Activity.Snapshot, elapsed: Double, width: Int) -> String {
        let rate = elapsed > 0 ? Double(snapshot.bytesDone) / elapsed : 0
        var fraction: Double?
        if snapshot.bytesTotal > 0 {
            fraction = min(1, Double(snapshot.bytesDone) / Double(snapshot.bytesTotal))
        } else if snapshot.filesTotal > 0 {
            fraction = Double(snapshot.filesDone) / Double(snapshot.filesTotal)
        }
        var parts: [String] = []
        if snapshot.filesTotal > 1 { parts.append("\(snapshot.filesDone)/\(snapshot.filesTotal) files") }
        parts.append(
            formatBytes(snapshot.bytesDone)
                + (snapshot.bytesTotal > 0 ? " of " + formatBytes(snapshot.bytesTotal) : ""))
        parts.append(formatBytes(Int(rate)) + "/s")
        if let fraction, fraction > 0.01, fraction < 1 {
            let left = elapsed * (1 - fraction) / fraction
            parts.append(left < 60 ? "\(Int(left.rounded(.up)))s left" : "\(Int(left / 60))m\(Int(left) % 60)s left")
        }
        let text = parts.joined(separator: "  ")
        guard let fraction else { return text }
        let barWidth = max(10, min(30, width - displayWidth(text) - 5))
        let filled = Int(Double(barWidth) * fraction)
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]  "
            + text
    }
}
