import Foundation

/// Univariate slice sampling with stepping out and shrinkage (Neal 2003, *Slice sampling*,
/// Annals of Statistics 31, figs. 3 and 5). Leaves any univariate density invariant; the
/// width only affects speed, so one default serves every coordinate on an unconstrained scale.
public struct SliceSampler: Sendable, Equatable {
    /// The initial interval width w.
    public var width: Double = 1
    /// At most this many widths m in the stepped-out interval (Neal's m).
    public var maximumSteps: Int = 64

    public init(width: Double = 1, maximumSteps: Int = 64) {
        precondition(width > 0 && maximumSteps >= 1)
        self.width = width
        self.maximumSteps = maximumSteps
    }

    /// One slice step from `x0`, whose log density is `logDensityAtStart` (finite). Returns the new
    /// point and its log density. `logDensity` may return −∞ outside the support.
    public func step(from x0: Double, logDensityAtStart: Double, random: RandomSource,
                     logDensity: (Double) -> Double) -> (x: Double, logDensity: Double) {
        // The slice {x : g(x) > level}, level = g(x0) − Exp(1).
        let level = logDensityAtStart + log(random.uniform())
        var left = x0 - width * random.uniform()
        var right = left + width
        var leftSteps = Int(Double(maximumSteps) * random.uniform())
        var rightSteps = maximumSteps - 1 - leftSteps
        while leftSteps > 0 && logDensity(left) > level {
            left -= width
            leftSteps -= 1
        }
        while rightSteps > 0 && logDensity(right) > level {
            right += width
            rightSteps -= 1
        }
        while true {
            let x1 = left + random.uniform() * (right - left)
            let value = logDensity(x1)
            // x1 = x0 ends the shrinking even when g(x0) is not above the level: that happens only
            // when the level rounds to g(x0) (|g| so large that log U is below its last digit),
            // where the loop would otherwise never end. Targets keep their values small near the
            // current point (written relative to it) so that it does not happen.
            if value > level || x1 == x0 { return (x1, value) }
            if x1 < x0 { left = x1 } else { right = x1 }
        }
    }

    /// One slice step on each coordinate of `x` in turn, in place, targeting `logDensity` of the
    /// whole vector; the same steps (and random draws) as `sweep(_:target:random:)` without
    /// copying x per coordinate.
    public func sweep(_ x: UnsafeMutableBufferPointer<Double>, random: RandomSource,
                      target logDensity: (UnsafePointer<Double>) -> Double) {
        sweep(x, widths: nil, random: random, target: logDensity)
    }

    /// The same with coordinate i's initial interval `widths[i]` instead of `width`, stepping
    /// coordinates `first` onward only (the others are held).
    public func sweep(_ x: UnsafeMutableBufferPointer<Double>, widths: [Double]?, from first: Int = 0, random: RandomSource,
                      target logDensity: (UnsafePointer<Double>) -> Double) {
        let point = x.baseAddress!
        var current = logDensity(point)
        precondition(current.isFinite, "slice sampling needs a finite log density at the start")
        var coordinateSampler = self
        for i in first..<x.count {
            if let widths { coordinateSampler.width = widths[i] }
            let start = point[i]
            let step = coordinateSampler.step(from: start, logDensityAtStart: current, random: random) { value in
                point[i] = value
                return logDensity(point)
            }
            point[i] = step.x
            current = step.logDensity
        }
    }
}
