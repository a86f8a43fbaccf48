import Foundation
import Diagnostics
import ModelSpec
import Testing
import TestSupport
import Samplers

/// The posterior of (τ, σ) of `y ~ 1 + (1 | g)` on a grid, with β and b integrated out
/// analytically: y ~ N(m 1, s² 11ᵀ + τ² ZZᵀ + σ² I) under β ~ N(m, s²), times the half-Cauchy
/// priors of τ and σ. Computed densely from the data rows with a plain Cholesky factorization,
/// so it shares nothing with the sampler (neither cross-products nor the blocked factor).
struct RandomInterceptGridPosterior {
    /// Midpoints of the log τ and log σ cells.
    let logTau: [Double]
    let logSigma: [Double]
    /// Normalized cell probabilities, τ-major: weights[a * logSigma.count + c].
    let weights: [Double]

    init(response y: [Double], groups: [Int], priors: GibbsPriors,
         logTauRange: ClosedRange<Double>, logSigmaRange: ClosedRange<Double>, points: (tau: Int, sigma: Int)) {
        func cells(_ range: ClosedRange<Double>, _ count: Int) -> [Double] {
            let step = (range.upperBound - range.lowerBound) / Double(count)
            return (0..<count).map { range.lowerBound + (Double($0) + 0.5) * step }
        }
        logTau = cells(logTauRange, points.tau)
        logSigma = cells(logSigmaRange, points.sigma)
        let n = y.count
        let (m, s2) = (priors.fixedMeans[0], priors.fixedSDs[0] * priors.fixedSDs[0])
        let centered = y.map { $0 - m }
        var logDensity: [Double] = []
        logDensity.reserveCapacity(logTau.count * logSigma.count)
        var v = [Double](repeating: 0, count: n * n)
        var z = [Double](repeating: 0, count: n)
        for t in logTau {
            let tau2 = exp(2 * t)
            for u in logSigma {
                let sigma2 = exp(2 * u)
                for c in 0..<n { for r in c..<n {
                    v[r + c * n] = s2 + (groups[r] == groups[c] ? tau2 : 0) + (r == c ? sigma2 : 0)
                } }
                // log N(y; m1, V) = −½ log|V| − ½ ‖L⁻¹(y − m1)‖² + const, by V = L Lᵀ.
                let logDeterminant = Self.choleskyInPlace(&v, order: n)
                for i in 0..<n { z[i] = centered[i] }
                var quadratic = 0.0
                for r in 0..<n {
                    var x = z[r]
                    for c in 0..<r { x -= v[r + c * n] * z[c] }
                    z[r] = x / v[r + r * n]
                    quadratic += z[r] * z[r]
                }
                let tauRatio = exp(t) / priors.tauScales[0][0], sigmaRatio = exp(u) / priors.sigmaScale
                // Half-Cauchy densities and the Jacobians τ, σ of the log scale.
                logDensity.append(-0.5 * logDeterminant - 0.5 * quadratic - log1p(tauRatio * tauRatio)
                                  - log1p(sigmaRatio * sigmaRatio) + t + u)
            }
        }
        let top = logDensity.max()!
        let raw = logDensity.map { exp($0 - top) }
        let total = raw.reduce(0, +)
        weights = raw.map { $0 / total }
    }

    /// Lower Cholesky factor in place (lower triangle of a column-major n x n); returns log|V|.
    static func choleskyInPlace(_ a: inout [Double], order n: Int) -> Double {
        var logDeterminant = 0.0
        for j in 0..<n {
            var d = a[j + j * n]
            for k in 0..<j { d -= a[j + k * n] * a[j + k * n] }
            precondition(d > 0, "not positive definite")
            let pivot = d.squareRoot()
            a[j + j * n] = pivot
            logDeterminant += 2 * log(pivot)
            for i in (j + 1)..<max(n, j + 1) {
                var x = a[i + j * n]
                for k in 0..<j { x -= a[i + k * n] * a[j + k * n] }
                a[i + j * n] = x / pivot
            }
        }
        return logDeterminant
    }

    /// The marginal of log τ (first) or log σ as cell probabilities.
    func marginal(tau: Bool) -> [Double] {
        var result = [Double](repeating: 0, count: tau ? logTau.count : logSigma.count)
        for a in logTau.indices { for c in logSigma.indices {
            result[tau ? a : c] += weights[a * logSigma.count + c]
        } }
        return result
    }

    /// E[exp(x)] and the p-quantile of exp(x) for the marginal of log τ or log σ (the CDF
    /// interpolated linearly in x within a cell).
    func summary(tau: Bool, probabilities: [Double]) -> (mean: Double, quantiles: [Double], edgeMass: Double) {
        let points = tau ? logTau : logSigma
        let masses = marginal(tau: tau)
        let h = points[1] - points[0]
        let mean = zip(points, masses).reduce(0.0) { $0 + exp($1.0) * $1.1 }
        let quantiles = probabilities.map { p -> Double in
            var cumulative = 0.0
            for (x, w) in zip(points, masses) {
                if cumulative + w >= p { return exp(x - h / 2 + h * (p - cumulative) / w) }
                cumulative += w
            }
            return exp(points.last! + h / 2)
        }
        return (mean, quantiles, max(masses.first!, masses.last!))
    }
}

@Suite struct ReferencePosteriorTests {
    struct Case: Sendable, CustomStringConvertible {
        let file: String
        let logTauRange: ClosedRange<Double>
        let logSigmaRange: ClosedRange<Double>
        var description: String { file }
    }

    /// Dyestuff (τ ≈ 40, σ ≈ 50) and Dyestuff2 (τ's posterior piled against 0). Grid ranges hold
    /// all but a negligible share of the mass (checked).
    static let cases = [
        Case(file: "Dyestuff", logTauRange: log(0.01)...log(3000), logSigmaRange: log(15)...log(200)),
        Case(file: "Dyestuff2", logTauRange: log(1e-8)...log(200), logSigmaRange: log(1.2)...log(12)),
    ]

    /// β ~ N(1000, 1000²) (proper, so β integrates out), σ, τ ~ half-Cauchy(0, 100).
    static let priors = GibbsPriors(fixedMeans: [1000], fixedSDs: [1000], sigmaScale: 100, tauScales: [[100]], lkjEta: [1])

    /// 40000 interweaved sweeps after 1000 warmup: the posterior mean of τ and σ within 4 MCSE
    /// of the grid's, and for the 5/50/95 % grid quantiles q_p, the fraction of draws ≤ q_p
    /// within 4 MCSE of p (MCSEs from the draws' ESS, Diagnostics' `mcseMean`).
    @Test(arguments: cases)
    func interweavedDrawsMatchGrid(_ example: Case) throws {
        try Self.drawsMatchGrid(example, interweavesSigma: false)
    }

    /// The same check with the optional σ interweaving step (docs/math.md, eq. 36) after each sweep.
    @Test(arguments: cases)
    func sigmaInterweavedDrawsMatchGrid(_ example: Case) throws {
        try Self.drawsMatchGrid(example, interweavesSigma: true)
    }

    /// The same check for `CollapsedCrossedGibbs` (docs/math.md, eq. 56-62), both ways the single
    /// term can be split: Batch large (dense level budget 0: the block (β, a), τ by the centered
    /// and interweaving steps on Z_kᵀe, eq. 61) and Batch small (default budget: w = [β; a], τ by
    /// eq. 62 with w integrated out, then the centered and interweaving steps on Fᵀe).
    @Test(arguments: cases, [0, CollapsedCrossedGibbs.defaultDenseLevelBudget])
    func collapsedDrawsMatchGrid(_ example: Case, budget: Int) throws {
        let design = try Self.design(example)
        let sampler = try CollapsedCrossedGibbs(design: design, priors: Self.priors, denseLevelBudget: budget)
        #expect(sampler.interweaves)
        try Self.drawsMatchGrid(example, design: design, sampler: sampler)
    }

    static func design(_ example: Case) throws -> Design {
        let data = try DataTable.read(path: Fixtures.url("data/\(example.file).csv").path, categorical: ["Batch"])
        return try Design.build(data: data, formula: Formula.parse("Yield ~ 1 + (1 | Batch)"))
    }

    static func drawsMatchGrid(_ example: Case, interweavesSigma: Bool) throws {
        let design = try Self.design(example)
        var sampler = try GibbsSampler(design: design, priors: Self.priors)
        #expect(sampler.interweaves)
        sampler.interweavesResidualScale = interweavesSigma
        try drawsMatchGrid(example, design: design, sampler: sampler)
    }

    static func drawsMatchGrid(_ example: Case, design: Design, sampler: some GibbsChainSampler) throws {
        let groups = design.terms[0].groupCodes.map { Int($0) }
        let reference = RandomInterceptGridPosterior(response: design.response, groups: groups, priors: Self.priors,
                                                     logTauRange: example.logTauRange, logSigmaRange: example.logSigmaRange,
                                                     points: (tau: 320, sigma: 120))
        var sampler = sampler
        var random = RandomStream(seed: 2011, chain: 7)
        sampler.beginWarmup()
        for _ in 0..<1000 { try sampler.sweep(random: &random) }
        sampler.endWarmup()
        var tau: [Double] = [], sigma: [Double] = []
        for _ in 0..<40000 {
            try sampler.sweep(random: &random)
            tau.append(sampler.covariances[0][0].squareRoot())
            sigma.append(sampler.sigma)
        }
        let probabilities = [0.05, 0.5, 0.95]
        for (name, draws, isTau) in [("τ", tau, true), ("σ", sigma, false)] {
            let exact = reference.summary(tau: isTau, probabilities: probabilities)
            #expect(exact.edgeMass < 1e-6, "\(example) \(name): grid edge cell mass \(exact.edgeMass)")
            let mean = draws.reduce(0, +) / Double(draws.count)
            let mcse = mcseMean([draws])
            print("\(example) \(name): draws mean \(mean) (MCSE \(mcse), ESS \(essBulk([draws]))), grid mean \(exact.mean); grid quantiles \(exact.quantiles)")
            #expect(abs(mean - exact.mean) < 4 * mcse, "\(example) \(name): mean \(mean) vs grid \(exact.mean), MCSE \(mcse)")
            for (p, q) in zip(probabilities, exact.quantiles) {
                let indicators = draws.map { $0 <= q ? 1.0 : 0.0 }
                let fraction = indicators.reduce(0, +) / Double(draws.count)
                let error = mcseMean([indicators])
                #expect(abs(fraction - p) < 4 * error, "\(example) \(name): P(draw ≤ q\(p) = \(q)) = \(fraction), MCSE \(error)")
            }
        }
    }
}
