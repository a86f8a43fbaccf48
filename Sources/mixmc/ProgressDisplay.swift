import Dispatch
import Foundation

/// One line per chain on stderr, redrawn in place five times a second:
///
///     chain 1 [########------------]  812/2000 warmup     5120 it/s  ETA 0.2 s
///
/// Used only when stderr is a terminal and `--quiet` is not given. All drawing happens on one
/// serial queue.
final class ProgressDisplay: @unchecked Sendable {
    let chainIDs: [Int]
    let progress: [ChainProgress]
    let warmup: Int
    let total: Int
    private let queue = DispatchQueue(label: "mixmc.sample.progress")
    private var timer: DispatchSourceTimer?
    private var linesDrawn = 0

    init(chainIDs: [Int], progress: [ChainProgress], warmup: Int, total: Int) {
        self.chainIDs = chainIDs
        self.progress = progress
        self.warmup = warmup
        self.total = total
    }

    func start() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: .milliseconds(200))
        timer.setEventHandler { [self] in draw() }
        queue.sync { self.timer = timer }
        timer.resume()
    }

    /// Stops the timer and draws the final state.
    func finish() {
        queue.sync {
            timer?.cancel()
            timer = nil
            draw()
        }
    }

    private func draw() {
        var text = linesDrawn > 0 ? "\u{1B}[\(linesDrawn)A" : ""
        let now = DispatchTime.now().uptimeNanoseconds
        for index in chainIDs.indices {
            text += "\r\u{1B}[2K" + line(index, now: now) + "\n"
        }
        linesDrawn = chainIDs.count
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    private func line(_ index: Int, now: UInt64) -> String {
        let state = progress[index]
        let iteration = state.iteration.load(ordering: .relaxed)
        let started = state.startNanoseconds.load(ordering: .relaxed)
        let label = "chain \(chainIDs[index])"
        guard started > 0 else { return "\(label) waiting for a thread" }
        let width = 20
        let filled = total > 0 ? width * iteration / total : width
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
        let counter = String(repeating: " ", count: max(0, String(total).count - String(iteration).count)) + "\(iteration)/\(total)"
        let ended = state.endNanoseconds.load(ordering: .relaxed)
        let finished = ended > 0
        let phase = finished ? (iteration == total ? "done    " : "stopped ") : (iteration < warmup ? "warmup  " : "sampling")
        let elapsed = Double((finished ? ended : max(now, started)) - started) / 1e9
        let rate = elapsed > 0 ? Double(iteration) / elapsed : 0
        var text = "\(label) \(bar) \(counter) \(phase) " + String(format: "%7.0f it/s", rate)
        if !finished && rate > 0 {
            text += "  ETA " + Self.duration(Double(total - iteration) / rate)
        } else if finished {
            text += "  " + Self.duration(elapsed)
        }
        return text
    }

    /// `0.4 s`, `12 s`, `3 min 05 s`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1f s", seconds) }
        if seconds < 60 { return String(format: "%.0f s", seconds) }
        let whole = Int(seconds.rounded())
        return String(format: "%d min %02d s", whole / 60, whole % 60)
    }
}
