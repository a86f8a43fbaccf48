import Foundation
import ModelSpec
import Testing
import TestSupport
@testable import Samplers

/// The exact distribution of log v for a variance v = s² with s ~ half-Cauchy(0, A) given
/// `count` N(0, v) values with sum of squares `sumOfSquares`, by direct evaluation of the
/// unnormalized density on a grid in t = log v:
/// p(t) ∝ v · v^(−count/2) e^(−SS/(2v)) · p_s(√v) / (2√v),  p_s(s) ∝ 1 / (1 + s²/A²).
func logVarianceConditional(count: Int, sumOfSquares: Double, scale: Double,
                            from low: Double, to high: Double, points: Int = 40000) -> GridDistribution {
    let step = (high - low) / Double(points)
    let ts = (0..<points).map { low + (Double($0) + 0.5) * step }
    let logDensities = ts.map { t -> Double in
        let v = exp(t)
        let likelihood = -0.5 * Double(count) * t - sumOfSquares / (2 * v)
        let prior = -log1p(v / (scale * scale)) - 0.5 * t
        return t + likelihood + prior
    }
    return GridDistribution(points: ts, logDensities: logDensities)
}

@Suite struct VarianceStepTests {
    /// σ² | β, b on sleepstudy (n = 180) with (β, b) held at one draw: 20000 Gibbs steps on (σ², a).
    @Test func sigmaStepMatchesExactConditional() throws {
        let design = try sleepstudyDesign()
        var sampler = try GibbsSampler(design: design, priors: sleepstudyPriors)
        try sampler.setVarianceParameters(sigma: sleepstudySigma, covariances: [sleepstudyCovariance])
        sampler.holdsVarianceParametersFixed = true
        var random = RandomStream(seed: 7, chain: 1)
        try sampler.sweep(random: &random)
        let ssr = sampler.residualSumOfSquares(beta: sampler.beta, randomEffects: sampler.randomEffects)
        var draws: [Double] = []
        for _ in 0..<20000 {
            sampler.updateSigma(random: random)
            draws.append(log(sampler.sigma * sampler.sigma))
        }
        let center = log(ssr / 180)
        let exact = logVarianceConditional(count: 180, sumOfSquares: ssr, scale: sleepstudyPriors.sigmaScale,
                                           from: center - 2, to: center + 2)
        expectDraws(draws, match: exact, "log σ²")
    }

    /// τ² of a scalar term (sleepstudy's uncorrelated slope term: ℓ = 18, so the half-Cauchy
    /// prior matters) with b held at one draw.
    @Test func scalarTauStepMatchesExactConditional() throws {
        let design = try sleepstudyDesign("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)")
        let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [1000, 1000], sigmaScale: 25, tauScales: [[25], [3]], lkjEta: [1, 1])
        var sampler = try GibbsSampler(design: design, priors: priors)
        try sampler.setVarianceParameters(sigma: sleepstudySigma, covariances: [[24.74 * 24.74], [5.922 * 5.922]])
        sampler.holdsVarianceParametersFixed = true
        var random = RandomStream(seed: 11, chain: 1)
        try sampler.sweep(random: &random)
        let slopes = sampler.randomEffects[1]
        let sumOfSquares = slopes.reduce(0) { $0 + $1 * $1 }
        var draws: [Double] = []
        for _ in 0..<20000 {
            sampler.updateCovariances(terms: 0..<2, random: random)
            draws.append(log(sampler.covariances[1][0]))
        }
        #expect(sampler.randomEffects[1] == slopes)
        let center = log(sumOfSquares / 18)
        let exact = logVarianceConditional(count: 18, sumOfSquares: sumOfSquares, scale: 3, from: center - 4, to: center + 4)
        expectDraws(draws, match: exact, "log τ²")
    }

    /// The auxiliary-variable step where the prior dominates (one observation, heavy tail):
    /// checks the shapes of both inverse-gamma conditionals (a | v has shape 1, not 1/2).
    @Test(arguments: [(1, 0.5, 1.0), (3, 20.0, 0.5)])
    func halfCauchyMixtureMatchesExact(count: Int, sumOfSquares: Double, scale: Double) {
        var prior = HalfCauchyVariance(scale: scale)
        let random = RandomStream(seed: 3, chain: count)
        var v = 1.0
        var draws: [Double] = []
        for _ in 0..<40000 {
            v = prior.update(variance: v, count: count, sumOfSquares: sumOfSquares, random: random)
            draws.append(log(v))
        }
        let exact = logVarianceConditional(count: count, sumOfSquares: sumOfSquares, scale: scale, from: -25, to: 25, points: 100000)
        expectDraws(draws, match: exact, "log v (count \(count))")
    }

    /// The exact draw with the auxiliary variable integrated out (eq. 119), where it accepts
    /// nearly always (τ² ≪ A²), where the half-Cauchy factor matters (τ² near A²), and where it
    /// gives up so often that `update`'s step takes over (SS ≫ A²: the mixture of the two kernels
    /// must still be exact).
    @Test(arguments: [(15, 8.0, 5.0), (4, 30.0, 3.0), (6, 2e4, 1.0)])
    func exactVarianceDrawMatchesExact(count: Int, sumOfSquares: Double, scale: Double) {
        let (draws, taken) = Self.logVarianceChain(count: count, sumOfSquares: sumOfSquares, scale: scale, seed: 5) { _, random in
            HalfCauchyVariance.exactVariance(scale: scale, count: count, sumOfSquares: sumOfSquares, random: random)
        }
        #expect(taken > 0)
        let exact = logVarianceConditional(count: count, sumOfSquares: sumOfSquares, scale: scale, from: -25, to: 25, points: 100000)
        expectDraws(draws, match: exact, "log v (count \(count), SS \(sumOfSquares))")
    }

    /// Ordered overrelaxation over the exact draws (eq. 120), with `update`'s step where a draw
    /// declines, as `GibbsSampler.updateCovariances` chains them: the same conditional, and where
    /// the exact draws succeed, negatively correlated steps (the point of it). The third case
    /// declines nearly always, so it checks the mixture of kernels.
    @Test(arguments: [(15, 8.0, 5.0), (4, 30.0, 3.0), (6, 2e4, 1.0)])
    func overrelaxedVarianceStepMatchesExact(count: Int, sumOfSquares: Double, scale: Double) {
        let (draws, taken) = Self.logVarianceChain(count: count, sumOfSquares: sumOfSquares, scale: scale, seed: 9) { v, random in
            HalfCauchyVariance.overrelaxedVariance(current: v, scale: scale, count: count, sumOfSquares: sumOfSquares, random: random)
        }
        let exact = logVarianceConditional(count: count, sumOfSquares: sumOfSquares, scale: scale, from: -25, to: 25, points: 100000)
        expectDraws(draws, match: exact, "log v (count \(count), SS \(sumOfSquares))")
        if taken > 30000 {
            let mean = MonteCarlo.mean(draws)
            var lagged = 0.0, squares = 0.0
            for i in 1..<draws.count { lagged += (draws[i] - mean) * (draws[i - 1] - mean) }
            for x in draws { squares += (x - mean) * (x - mean) }
            #expect(lagged / squares < -0.5, "lag-1 autocorrelation \(lagged / squares)")
        }
    }

    /// 40,000 steps of v | SS from v = 1, each `step(v, random)` where it gives a value, else
    /// `update`'s auxiliary-variable step, as `GibbsSampler.updateCovariances` chains them: the
    /// log v drawn and how many steps `step` took.
    static func logVarianceChain(count: Int, sumOfSquares: Double, scale: Double, seed: UInt64,
                                 step: (Double, RandomStream) -> Double?) -> (draws: [Double], taken: Int) {
        var prior = HalfCauchyVariance(scale: scale)
        let random = RandomStream(seed: seed, chain: count)
        var v = 1.0
        var draws: [Double] = []
        var taken = 0
        for _ in 0..<40000 {
            if let next = step(v, random) {
                v = next
                taken += 1
            } else {
                v = prior.update(variance: v, count: count, sumOfSquares: sumOfSquares, random: random)
            }
            draws.append(log(v))
        }
        return (draws, taken)
    }

    @Test func exactVarianceDrawDeclinesImproperProposals() {
        let random = RandomStream(seed: 1, chain: 1)
        #expect(HalfCauchyVariance.exactVariance(scale: 1, count: 1, sumOfSquares: 3, random: random) == nil)
        #expect(HalfCauchyVariance.exactVariance(scale: 1, count: 5, sumOfSquares: 0, random: random) == nil)
    }
}
