import Foundation
import Testing
import TestSupport

/// A univariate distribution known by its (unnormalized) density on an even grid: midpoint-rule
/// moments and quantiles, the exact answers sampler draws are checked against.
struct GridDistribution {
    let points: [Double]
    /// Normalized probabilities of the grid cells.
    let weights: [Double]

    /// From log densities on an even grid (shifted by their maximum before exponentiating).
    init(points: [Double], logDensities: [Double]) {
        let top = logDensities.max()!
        let raw = logDensities.map { exp($0 - top) }
        let total = raw.reduce(0, +)
        self.points = points
        weights = raw.map { $0 / total }
    }

    /// From accumulated marginal masses on an even grid.
    init(points: [Double], masses: [Double]) {
        let total = masses.reduce(0, +)
        self.points = points
        weights = masses.map { $0 / total }
    }

    var mean: Double { zip(points, weights).reduce(0) { $0 + $1.0 * $1.1 } }

    /// The p-quantile, interpolating the CDF linearly within a cell (cell i spans half a step either side of points[i]).
    func quantile(_ p: Double) -> Double {
        let h = points[1] - points[0]
        var cumulative = 0.0
        for (x, w) in zip(points, weights) {
            if cumulative + w >= p { return x - h / 2 + h * (p - cumulative) / w }
            cumulative += w
        }
        return points.last! + h / 2
    }
}

/// Checks draws against an exact distribution: the mean within 4 MCSE (when `checkMean`), and for
/// each of the 5/50/95 % quantiles q of the exact distribution, the fraction of draws ≤ q within
/// 4 MCSE of p (the MCSE from the ESS of the indicator series, so heavy tails and
/// autocorrelation are accounted for).
func expectDraws(_ draws: [Double], match exact: GridDistribution, checkMean: Bool = true,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if checkMean {
        let mean = MonteCarlo.mean(draws)
        let mcse = monteCarloStandardError(draws)
        #expect(abs(mean - exact.mean) < 4 * mcse, "\(label): mean \(mean) vs exact \(exact.mean), MCSE \(mcse)",
                sourceLocation: sourceLocation)
    }
    for p in [0.05, 0.5, 0.95] {
        let q = exact.quantile(p)
        let indicators = draws.map { $0 <= q ? 1.0 : 0.0 }
        let fraction = MonteCarlo.mean(indicators)
        let mcse = monteCarloStandardError(indicators)
        #expect(abs(fraction - p) < 4 * mcse, "\(label): P(draw ≤ q\(p) = \(q)) = \(fraction), MCSE \(mcse)",
                sourceLocation: sourceLocation)
    }
}

/// Monte Carlo standard error of the mean, sd / √ESS (`MonteCarlo.standardErrorOfMean`).
func monteCarloStandardError(_ x: [Double]) -> Double {
    MonteCarlo.standardErrorOfMean(x)
}
