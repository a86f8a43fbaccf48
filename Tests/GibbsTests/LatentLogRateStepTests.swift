import Foundation
import Testing
import TestSupport
@testable import Samplers

/// The pieces of the latent log-rate sampler (docs/math.md, eq. 113-115) against computations
/// that share nothing with them: the nested-scales density against the Gaussian marginal
/// likelihood built and factored densely; ψ's mode against bisection; ψ's Metropolis-Hastings
/// step against the moments of its target by quadrature.
@Suite struct LatentLogRateStepTests {
    /// Nested data: fine level h of `sizes[h]` rows inside coarse level `parent[h]`; weights w_i
    /// (1, or drawn) and residuals r_i.
    struct Nested {
        let parent: [Int32]
        let fineOfRow: [Int]
        let weights: [Double]
        let residuals: [Double]
        let coarseLevels: Int
    }

    static func nested(unitWeights: Bool, seed: UInt64) -> Nested {
        let random = RandomStream(seed: seed, chain: 0)
        let sizes = [1, 3, 2, 4, 2, 1, 3, 5]
        let parent: [Int32] = [0, 0, 1, 1, 1, 2, 2, 3]
        var fineOfRow: [Int] = []
        for (h, size) in sizes.enumerated() { fineOfRow += Array(repeating: h, count: size) }
        let weights = fineOfRow.map { _ in unitWeights ? 1 : 0.2 + 2 * random.uniform() }
        let residuals = fineOfRow.map { _ in 1.5 * random.standardNormal() + 0.3 }
        return Nested(parent: parent, fineOfRow: fineOfRow, weights: weights, residuals: residuals, coarseLevels: 4)
    }

    /// log N(r; 0, diag(σ²/w) + τ_f² Z_f Z_fᵀ + τ_c² Z_c Z_cᵀ) by a dense Cholesky factor.
    static func denseLogLikelihood(_ data: Nested, sigma: Double, fine: Double, coarse: Double) -> Double {
        let n = data.residuals.count
        var v = [Double](repeating: 0, count: n * n)
        for a in 0..<n {
            for b in 0..<n {
                var value = 0.0
                if a == b { value += sigma * sigma / data.weights[a] }
                if data.fineOfRow[a] == data.fineOfRow[b] { value += fine * fine }
                if data.parent[data.fineOfRow[a]] == data.parent[data.fineOfRow[b]] { value += coarse * coarse }
                v[a + b * n] = value
            }
        }
        // Cholesky, lower, in place; then L⁻¹ r and the log determinant.
        for c in 0..<n {
            var d = v[c + c * n]
            for k in 0..<c { d -= v[c + k * n] * v[c + k * n] }
            d = d.squareRoot()
            v[c + c * n] = d
            for r in (c + 1)..<max(c + 1, n) {
                var s = v[r + c * n]
                for k in 0..<c { s -= v[r + k * n] * v[c + k * n] }
                v[r + c * n] = s / d
            }
        }
        var z = data.residuals
        var logDeterminant = 0.0
        for r in 0..<n {
            for k in 0..<r { z[r] -= v[r + k * n] * z[k] }
            z[r] /= v[r + r * n]
            logDeterminant += 2 * log(v[r + r * n])
        }
        return -0.5 * (Double(n) * log(2 * Double.pi) + logDeterminant + z.reduce(0) { $0 + $1 * $1 })
    }

    static func target(_ data: Nested, scales: [Double], sigmaIsKnown: Bool) -> NestedScaleTarget {
        var sums = [Double](repeating: 0, count: data.parent.count)
        var weights = sums
        var squares = 0.0
        for (i, h) in data.fineOfRow.enumerated() {
            sums[h] += data.weights[i] * data.residuals[i]
            weights[h] += data.weights[i]
            squares += data.weights[i] * data.residuals[i] * data.residuals[i]
        }
        return NestedScaleTarget(sums: sums, weights: weights, residualSquares: squares, observationCount: data.residuals.count,
                                 parent: data.parent, coarseLevels: data.coarseLevels, scales: scales, sigmaIsKnown: sigmaIsKnown)
    }

    /// Half-Cauchy priors and log Jacobians of x = log of each scale.
    static func logPriors(_ x: [Double], scales: [Double], from first: Int) -> Double {
        (first..<3).reduce(0) { total, c in
            let ratio = exp(x[c]) / scales[c]
            return total + x[c] - log1p(ratio * ratio)
        }
    }

    @Test(arguments: [true, false])
    func nestedScaleDensityIsTheMarginalLikelihood(unitWeights: Bool) {
        let data = Self.nested(unitWeights: unitWeights, seed: unitWeights ? 11 : 12)
        let scales = [2.0, 1.0, 0.5]
        var target = Self.target(data, scales: scales, sigmaIsKnown: false)
        let points: [[Double]] = [[0, 0, 0], [-0.4, 0.7, -1.2], [0.3, -2, 0.9], [1.1, 0.2, 0.4]]
        let differences = points.map { x -> Double in
            let mine = x.withUnsafeBufferPointer { target.logDensity($0.baseAddress!) } - Self.logPriors(x, scales: scales, from: 0)
            return mine - Self.denseLogLikelihood(data, sigma: exp(x[0]), fine: exp(x[1]), coarse: exp(x[2]))
        }
        // The same constant at every point (the weights' and 2π's terms).
        for d in differences { #expect(abs(d - differences[0]) < 1e-10, "\(differences)") }
    }

    @Test func knownSigmaLeavesItsPriorOut() {
        let data = Self.nested(unitWeights: false, seed: 13)
        let scales = [2.0, 1.0, 0.5]
        var target = Self.target(data, scales: scales, sigmaIsKnown: true)
        let points: [[Double]] = [[0, 0, 0], [0, 0.7, -1.2], [0, -2, 0.9]]
        let differences = points.map { x -> Double in
            let mine = x.withUnsafeBufferPointer { target.logDensity($0.baseAddress!) } - Self.logPriors(x, scales: scales, from: 1)
            return mine - Self.denseLogLikelihood(data, sigma: 1, fine: exp(x[1]), coarse: exp(x[2]))
        }
        for d in differences { #expect(abs(d - differences[0]) < 1e-10, "\(differences)") }
    }

    /// f'(ψ) = y − e^ψ − (ψ − m)/v is decreasing: its root by bisection.
    static func bisectedMode(count y: Double, mean m: Double, variance v: Double) -> Double {
        var low = -100.0, high = 100.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if y - exp(middle) - (middle - m) / v > 0 { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    @Test(arguments: [(0.0, -3.0, 0.1), (0.0, 5.0, 0.5), (3.0, 0.0, 1.0), (40.0, 1.0, 0.3), (1e6, 2.0, 4.0), (2.0, 30.0, 0.01)])
    func modeIsTheRoot(count: Double, mean: Double, variance: Double) {
        let mode = LatentLogRateGibbs.mode(count: count, mean: mean, variance: variance)
        let reference = Self.bisectedMode(count: count, mean: mean, variance: variance)
        #expect(abs(mode - reference) < 1e-9 * (1 + abs(reference)), "mode \(mode), bisection \(reference)")
    }

    /// Mean and variance of exp(y ψ − e^ψ − (ψ − m)²/(2v)) by the trapezoid rule on a fine grid.
    static func quadratureMoments(count y: Double, mean m: Double, variance v: Double) -> (mean: Double, variance: Double) {
        let center = bisectedMode(count: y, mean: m, variance: v)
        let width = 12 * v.squareRoot()
        let steps = 40_000
        let h = 2 * width / Double(steps)
        func logf(_ x: Double) -> Double { y * (x - center) - (exp(x) - exp(center)) - ((x - m) * (x - m) - (center - m) * (center - m)) / (2 * v) }
        var (z, s1, s2) = (0.0, 0.0, 0.0)
        for k in 0...steps {
            let x = center - width + Double(k) * h
            let weight = exp(logf(x)) * (k == 0 || k == steps ? 0.5 : 1)
            z += weight; s1 += weight * x; s2 += weight * x * x
        }
        let mean = s1 / z
        return (mean, s2 / z - mean * mean)
    }

    /// The chain of steps for fixed (y, m, v) has the target's mean and variance, within 5
    /// Monte Carlo SEs (the steps are nearly independent: an independence proposal at the mode).
    @Test(arguments: [(0.0, -1.0, 0.6), (7.0, 1.0, 0.3), (200.0, 3.0, 2.0), (1.0, 4.0, 0.05)])
    func stepsHaveTheTargetsMoments(count: Double, mean: Double, variance: Double) {
        let random = RandomStream(seed: 20261203, chain: Int(count))
        var psi = mean, rate = exp(mean)
        let draws = 200_000
        var (s1, s2) = (0.0, 0.0)
        var accepted = 0
        for _ in 0..<draws {
            if LatentLogRateGibbs.step(logRate: &psi, rate: &rate, count: count, mean: mean, variance: variance, random: random) { accepted += 1 }
            s1 += psi; s2 += psi * psi
        }
        let sampleMean = s1 / Double(draws), sampleVariance = s2 / Double(draws) - sampleMean * sampleMean
        let reference = Self.quadratureMoments(count: count, mean: mean, variance: variance)
        let standardError = (reference.variance / Double(draws)).squareRoot()
        print("ψ step y=\(count) m=\(mean) v=\(variance): acceptance \(Double(accepted) / Double(draws)), mean \(sampleMean) vs \(reference.mean), variance \(sampleVariance) vs \(reference.variance)")
        #expect(abs(sampleMean - reference.mean) < 5 * standardError)
        #expect(abs(sampleVariance / reference.variance - 1) < 5 * (2 / Double(draws)).squareRoot())
        #expect(abs(rate - exp(psi)) <= 1e-12 * exp(psi))
    }
}
