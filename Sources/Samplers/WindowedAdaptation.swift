/// Stan's schedule for metric adaptation during warmup (`windowed_adaptation`): an initial
/// buffer where only the step size adapts, then a run of windows that each end with a metric
/// update, each window twice the previous one and the last stretched to the start of a terminal
/// buffer, where again only the step size adapts.
///
/// Defaults (init buffer 75, terminal buffer 50, base window 25) put the updates of a
/// 1000-iteration warmup after iterations 100, 150, 250, 450 and 950.
///
/// Short warmups follow Stan's fallback: under 20 iterations the metric is not adapted at all;
/// when the three stages do not fit, they become 15% / 75% / 10% of the warmup. In that second
/// case Stan forgets to reset its window counters (stan-dev/stan#3380), so it never updates the
/// metric; here the reduced windows are used as its warning message says they are.
public struct WindowedAdaptation: Sendable, Equatable {
    public private(set) var warmup = 0
    public private(set) var initBuffer = 0
    public private(set) var termBuffer = 0
    public private(set) var baseWindow = 0

    /// Iterations seen so far (0-based index of the next one).
    private(set) var counter = 0
    private var windowSize = 0
    /// 0-based iteration at which the current window ends; -1 means no window will end.
    private var nextWindowEnd = -1

    public init(warmup: Int, initBuffer: Int = 75, termBuffer: Int = 50, baseWindow: Int = 25) {
        guard warmup >= 20 else { return }
        self.warmup = warmup
        if initBuffer + baseWindow + termBuffer > warmup {
            self.initBuffer = Int(0.15 * Double(warmup))
            self.termBuffer = Int(0.10 * Double(warmup))
            self.baseWindow = warmup - (self.initBuffer + self.termBuffer)
        } else {
            self.initBuffer = initBuffer
            self.termBuffer = termBuffer
            self.baseWindow = baseWindow
        }
        restart()
    }

    mutating func restart() {
        counter = 0
        windowSize = baseWindow
        nextWindowEnd = initBuffer + windowSize - 1
    }

    /// True when the current iteration's draw goes into the metric estimate.
    public var inAdaptationWindow: Bool {
        counter >= initBuffer && counter < warmup - termBuffer && counter != warmup
    }

    /// True when the current iteration closes a window (the metric is updated after it).
    public var atWindowEnd: Bool {
        counter == nextWindowEnd && counter != warmup
    }

    /// Moves to the next iteration; at a window end, first computes where the next one ends.
    public mutating func advance() {
        if atWindowEnd { computeNextWindow() }
        counter += 1
    }

    private mutating func computeNextWindow() {
        let lastWindowEnd = warmup - termBuffer - 1
        if nextWindowEnd == lastWindowEnd { return }
        windowSize *= 2
        nextWindowEnd = counter + windowSize
        if nextWindowEnd == lastWindowEnd { return }
        // If the window after this one would overrun the adaptation stage, stretch this one to
        // the end of the stage instead of leaving a short last window.
        let followingWindowEnd = nextWindowEnd + 2 * windowSize
        if followingWindowEnd >= warmup - termBuffer {
            nextWindowEnd = lastWindowEnd
        }
    }

    /// The 1-based warmup iterations after which the metric is updated.
    public static func windowEndIterations(warmup: Int, initBuffer: Int = 75, termBuffer: Int = 50,
                                           baseWindow: Int = 25) -> [Int] {
        var schedule = WindowedAdaptation(warmup: warmup, initBuffer: initBuffer,
                                          termBuffer: termBuffer, baseWindow: baseWindow)
        var ends: [Int] = []
        for iteration in 1...max(warmup, 1) {
            if schedule.atWindowEnd { ends.append(iteration) }
            schedule.advance()
        }
        return ends
    }
}
