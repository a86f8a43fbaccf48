import Foundation

/// Summaries of a single chain of draws, for checking samplers against exact answers with
/// bounds derived from the draws themselves (Monte Carlo standard errors).
public enum MonteCarlo {
    public static func mean(_ x: [Double]) -> Double {
        x.reduce(0, +) / Double(x.count)
    }

    /// Sample variance with divisor n - 1.
    public static func variance(_ x: [Double]) -> Double {
        let m = mean(x)
        return x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)
    }

    /// Autocorrelations ρ_0 … ρ_maxLag with the usual biased (divisor n) autocovariance.
    public static func autocorrelations(_ x: [Double], maxLag: Int) -> [Double] {
        let n = x.count
        let m = mean(x)
        let centered = x.map { $0 - m }
        var gamma = [Double](repeating: 0, count: maxLag + 1)
        for lag in 0...maxLag {
            var sum = 0.0
            for t in 0..<(n - lag) { sum += centered[t] * centered[t + lag] }
            gamma[lag] = sum / Double(n)
        }
        return gamma.map { $0 / gamma[0] }
    }

    /// Effective sample size by Geyer's initial monotone sequence estimator: τ = -1 + 2 Σ Γ_k
    /// over the pair sums Γ_k = ρ_{2k} + ρ_{2k+1}, truncated at the first non-positive Γ_k and
    /// made monotone; ESS = n / τ. Capped at n log10(n) as Stan does, since antithetic chains
    /// (NUTS on Gaussians) can give τ < 1. A constant chain gives n.
    public static func effectiveSampleSize(_ x: [Double]) -> Double {
        let n = x.count
        guard n > 3, variance(x) > 0 else { return Double(n) }
        let m = mean(x)
        let centered = x.map { $0 - m }
        // Autocovariances only up to the truncation lag: O(n · lag), not O(n²), for long chains.
        func autocovariance(_ lag: Int) -> Double {
            var sum = 0.0
            for t in 0..<(n - lag) { sum += centered[t] * centered[t + lag] }
            return sum / Double(n)
        }
        let gamma0 = autocovariance(0)
        var tau = -1.0
        var previous = Double.infinity
        var k = 0
        while 2 * k + 1 < n - 1 {
            var pair = (autocovariance(2 * k) + autocovariance(2 * k + 1)) / gamma0
            if pair <= 0 { break }
            pair = min(pair, previous)
            tau += 2 * pair
            previous = pair
            k += 1
        }
        let ess = Double(n) / tau
        return min(ess, Double(n) * log10(Double(n)))
    }

    /// Monte Carlo standard error of the mean: sd / √ESS.
    public static func standardErrorOfMean(_ x: [Double]) -> Double {
        (variance(x) / effectiveSampleSize(x)).squareRoot()
    }
}
