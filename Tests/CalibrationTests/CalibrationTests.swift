import Foundation
import Testing
import TestSupport
import Samplers

/// Simulation-based calibration of the Gibbs sampler (docs/calibration.md). If the sampler draws
/// from the exact posterior, the rank of a parameter's prior draw among L posterior draws given
/// data simulated from it is uniform on 0…L (Talts et al. 2018, theorem 1). Per model, a χ² test
/// on 10 bins for each parameter, at level 0.01 for the model (Bonferroni over its parameters),
/// with fixed seeds, so the outcome is deterministic.
@Suite struct CalibrationTests {
    /// The quick tier's models. Thinning: the median bulk-ESS per sweep over 20 simulated data sets
    /// is ≥ 0.6 (random intercept) and ≥ 0.27 (correlated slope, the correlation being slowest),
    /// the worst data set's 0.29 and 0.14 (`MixingMeasurements.calibrationModelsESSPerSweep`):
    /// thinning by 5 and 10 leaves the kept draws about independent (ESS per kept draw ≥ 1.4
    /// even in the worst case), which the test checks on the kept draws themselves.
    static let quickModels: [(CalibrationModel, Int)] = [
        (CalibrationModel(groups: 10, perGroup: 5, correlatedSlope: false), 5),
        (CalibrationModel(groups: 8, perGroup: 6, correlatedSlope: true), 10),
    ]

    /// The level is 0.01 for each model's family of parameters, not for each parameter: at 0.01
    /// per parameter a calibrated sampler fails one of a model's 4-6 tests at ~5 % of seeds. That
    /// happened at both seeds tried: seed 20250101 (this one) gave σ of the random-intercept model
    /// χ² = 22.0 (p = 0.009), seed 20250301 gave β₁ χ² = 23.6 (p = 0.005), each with every other
    /// parameter inside; neither recurred in the long tier's 1000 replications of the same
    /// models at two seeds (σ 10.2 and 17.3, β₁ 18.9 and 21.0 on 19 df), where a miscalibration of
    /// that size would show ten times as strongly.
    @Test(arguments: 0..<2)
    func ranksAreUniform(modelIndex: Int) throws {
        let (model, thin) = Self.quickModels[modelIndex]
        let result = try runCalibration(model: model, replications: 100, seed: 20250101 + UInt64(modelIndex),
                                        settings: CalibrationSettings(thin: thin))
        let critical = familyCriticalValue(bins: 10, parameters: result.parameterNames.count)
        for (i, name) in result.parameterNames.enumerated() {
            let statistic = result.chiSquare(parameter: i)
            #expect(statistic < critical, "\(model): \(name) ranks χ² = \(statistic) ≥ \(critical), bins \(result.histogram(parameter: i))")
            // Near-independent kept draws: median bulk-ESS at least half of L.
            #expect(result.medianRelativeESS(parameter: i) > 0.5, "\(model): \(name) ESS/L \(result.medianRelativeESS(parameter: i))")
            print("SBC \(model) \(name): χ² = \(String(format: "%.2f", statistic)), median ESS/L = \(String(format: "%.2f", result.medianRelativeESS(parameter: i))), bins \(result.histogram(parameter: i))")
        }
    }

    /// The correlated-slope model again with the optional σ interweaving step (eq. 36), which
    /// rescales σ, both τ's, the log-SD coordinates and every b at once.
    @Test func ranksAreUniformWithSigmaInterweaving() throws {
        let (model, thin) = Self.quickModels[1]
        let result = try runCalibration(model: model, replications: 100, seed: 20250111,
                                        settings: CalibrationSettings(thin: thin, interweavesResidualScale: true))
        let critical = familyCriticalValue(bins: 10, parameters: result.parameterNames.count)
        for (i, name) in result.parameterNames.enumerated() {
            let statistic = result.chiSquare(parameter: i)
            #expect(statistic < critical, "\(model) + σ step: \(name) ranks χ² = \(statistic) ≥ \(critical), bins \(result.histogram(parameter: i))")
            #expect(result.medianRelativeESS(parameter: i) > 0.5, "\(model) + σ step: \(name) ESS/L \(result.medianRelativeESS(parameter: i))")
            print("SBC \(model) + σ step \(name): χ² = \(String(format: "%.2f", statistic)), median ESS/L = \(String(format: "%.2f", result.medianRelativeESS(parameter: i))), bins \(result.histogram(parameter: i))")
        }
    }

    /// Power: the same SBC on a deliberately wrong sampler must reject. The variant draws (β, b)
    /// and σ as the real sampler does, but τ² of the random intercept from its inverse-gamma
    /// conditional with the shape off by one, (ℓ + 3)/2 instead of (ℓ + 1)/2 (eq. 23-24), and no
    /// interweaving step; with ℓ = 10 groups that biases τ down by about 10%, a fraction of its
    /// posterior SD.
    @Test func detectsShapeOffByOne() throws {
        let (model, thin) = Self.quickModels[0]
        var tauPrior = HalfCauchyVariance(scale: model.priors.tauScales[0][0])
        let result = try runCalibration(model: model, replications: 100, seed: 20250101,
                                        settings: CalibrationSettings(thin: thin)) { sampler, random in
            sampler.holdsVarianceParametersFixed = true
            sampler.interweaves = false
            try sampler.sweep(random: &random)   // (β, b) | σ, τ only
            var sigmaPrior = HalfCauchyVariance(scale: model.priors.sigmaScale)
            let ssr = sampler.residualSumOfSquares(beta: sampler.beta, randomEffects: sampler.randomEffects)
            let sigma2 = sigmaPrior.update(variance: sampler.sigma * sampler.sigma, count: sampler.design.observationCount,
                                          sumOfSquares: ssr, random: random)
            let b = sampler.randomEffects[0]
            let wrongCount = b.count + 2
            let tau2 = tauPrior.update(variance: sampler.covariances[0][0], count: wrongCount,
                                       sumOfSquares: b.reduce(0) { $0 + $1 * $1 }, random: random)
            try sampler.setVarianceParameters(sigma: sigma2.squareRoot(), covariances: [[tau2]])
        }
        let tau = result.parameterNames.firstIndex(of: "tau")!
        let statistic = result.chiSquare(parameter: tau)
        print("SBC, τ step with shape off by one: τ ranks χ² = \(String(format: "%.2f", statistic)), bins \(result.histogram(parameter: tau))")
        #expect(statistic > familyCriticalValue(bins: 10, parameters: result.parameterNames.count),
                "χ² \(statistic) did not reject the wrong sampler")
    }
}
