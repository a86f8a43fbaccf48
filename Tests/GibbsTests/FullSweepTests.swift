import Foundation
import ModelSpec
import Testing
import TestSupport
import Samplers

@Suite struct FullSweepTests {
    /// Full sweeps on sleepstudy (weak priors) from the default start: posterior means of β near
    /// lme4's β̂ = (251.4, 10.47) within 2 posterior SDs, and σ near lme4's 25.59. A sanity check;
    /// the step-by-step tests are the evidence.
    @Test func sleepstudyPosteriorNearREML() throws {
        let design = try sleepstudyDesign()
        let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [1000, 1000], sigmaScale: 50,
                                 tauScales: [[50, 10]], lkjEta: [2])
        var sampler = try GibbsSampler(design: design, priors: priors)
        var random = RandomStream(seed: 42, chain: 1)
        for _ in 0..<500 { try sampler.sweep(random: &random) }
        var beta0: [Double] = [], beta1: [Double] = [], sigma: [Double] = [], tau: [[Double]] = [[], []]
        for _ in 0..<3000 {
            try sampler.sweep(random: &random)
            beta0.append(sampler.beta[0])
            beta1.append(sampler.beta[1])
            sigma.append(sampler.sigma)
            let covariance = sampler.covariances[0]
            tau[0].append(covariance[0].squareRoot())
            tau[1].append(covariance[3].squareRoot())
        }
        for (draws, reml) in [(beta0, 251.405), (beta1, 10.467)] {
            let mean = MonteCarlo.mean(draws)
            let sd = MonteCarlo.variance(draws).squareRoot()
            #expect(abs(mean - reml) < 2 * sd, "posterior mean \(mean), sd \(sd) vs REML \(reml)")
        }
        let sigmaMean = MonteCarlo.mean(sigma)
        #expect(abs(sigmaMean - 25.59) < 2 * MonteCarlo.variance(sigma).squareRoot(), "σ mean \(sigmaMean)")
        // The SDs' posteriors are right-skewed with ℓ = 18; their medians sit near the REML values.
        let medians = tau.map { $0.sorted()[$0.count / 2] }
        #expect(medians[0] > 15 && medians[0] < 40, "τ₁ median \(medians[0])")
        #expect(medians[1] > 3.5 && medians[1] < 10, "τ₂ median \(medians[1])")
    }
}
