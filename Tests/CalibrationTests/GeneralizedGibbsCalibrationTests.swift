import Foundation
import Testing
import TestSupport
import ModelSpec
import Samplers

/// A small simulated binomial or Poisson mixed model for SBC of the GLMM Gibbs samplers
/// (docs/calibration.md): `groups` groups of `perGroup` rows, x ~ N(0, 1), `trials` trials a row,
///
///   y ~ Binomial(n, g⁻¹(η)) or Poisson(exp(η)),  η = β₀ + β₁ x + b_{g,0} + b_{g,1} x (slope only
///   when `correlatedSlope`) [+ c_{a(g)}] [+ e_i],
///
/// with β ~ N(0, 1), τ ~ half-Cauchy(0, 1), R ~ LKJ(2), and g the logit or probit link. With
/// `coarseGroups` > 0 the groups are nested in that many coarse groups a (g mod a) with
/// intercepts c ~ N(0, τ_a²); with `observationLevel` each row has its own e_i ~ N(0, τ_obs²),
/// the term (1 | obs) (Poisson overdispersion).
struct GeneralizedCalibrationModel: Sendable, CustomStringConvertible {
    let kind: Family.Kind
    let link: Link
    let groups: Int
    let perGroup: Int
    let trials: Int
    let correlatedSlope: Bool
    var coarseGroups = 0
    var observationLevel = false

    var formula: String {
        let response = kind == .poisson || trials == 1 ? "y" : "cbind(y, n - y)"
        return response + (correlatedSlope ? " ~ 1 + x + (1 + x | g)" : " ~ 1 + x + (1 | g)")
            + (coarseGroups > 0 ? " + (1 | a)" : "") + (observationLevel ? " + (1 | obs)" : "")
    }
    var termCount: Int { 1 + (coarseGroups > 0 ? 1 : 0) + (observationLevel ? 1 : 0) }
    var termSize: Int { correlatedSlope ? 2 : 1 }
    var description: String { "\(kind.rawValue)(\(link.rawValue)) \(formula), \(groups) groups\(coarseGroups > 0 ? " in \(coarseGroups)" : "") x \(perGroup) rows\(kind == .binomial ? " x \(trials) trials" : "")" }

    /// β ~ N(0, 1), every SD half-Cauchy(0, 1): the same for every term, so in any term order.
    var priors: GibbsPriors {
        GibbsPriors(fixedMeans: [0, 0], fixedSDs: [1, 1], sigmaScale: 1,
                    tauScales: [Array(repeating: 1, count: termSize)] + Array(repeating: [1], count: termCount - 1),
                    lkjEta: Array(repeating: 2, count: termCount))
    }

    var parameterNames: [String] {
        (correlatedSlope ? ["beta0", "beta1", "tau0", "tau1", "rho"] : ["beta0", "beta1", "tau"])
            + (coarseGroups > 0 ? ["tau_a"] : []) + (observationLevel ? ["tau_obs"] : [])
    }

    /// One draw of the parameters and of a data set given them; nil for a Poisson draw whose
    /// mean on some row is 10¹⁵ or more (the half-Cauchy tail's τ of 100 or so), whose counts no
    /// sampler could be given. Skipping such draws conditions the prior on an event the data of
    /// the kept draws rule out all but surely (counts of that size would be needed), so the
    /// ranks stay uniform to any precision a test can see. Also nil for a data set whose
    /// response is constant (every binomial trial a failure, or every one a success; every count
    /// 0), which `Design.build` refuses: an event of the data alone, so the kept replications'
    /// ranks stay exactly uniform (each is uniform given its data).
    func simulate(random: RandomStream) throws -> CalibrationModel.Truth? {
        let family = try Family(kind, link: link)
        let prior = priors
        let beta = (0..<2).map { prior.fixedMeans[$0] + prior.fixedSDs[$0] * random.standardNormal() }
        let tau = prior.tauScales[0].map { halfCauchy(scale: $0, random: random) }
        var rho = 0.0
        if correlatedSlope {
            let first = random.gamma(shape: prior.lkjEta[0], scale: 1), second = random.gamma(shape: prior.lkjEta[0], scale: 1)
            rho = 2 * first / (first + second) - 1
        }
        let tauCoarse = coarseGroups > 0 ? halfCauchy(scale: 1, random: random) : 0
        let tauObservation = observationLevel ? halfCauchy(scale: 1, random: random) : 0
        let coarseEffects = (0..<coarseGroups).map { _ in tauCoarse * random.standardNormal() }
        var lines = ["y,n,x,g,a,obs"]
        for g in 0..<groups {
            let z0 = random.standardNormal(), z1 = random.standardNormal()
            let intercept = tau[0] * z0
            let slope = correlatedSlope ? tau[1] * (rho * z0 + (1 - rho * rho).squareRoot() * z1) : 0
            let coarse = coarseGroups > 0 ? coarseEffects[g % coarseGroups] : 0
            for _ in 0..<perGroup {
                let x = random.standardNormal()
                let extra = coarse + (observationLevel ? tauObservation * random.standardNormal() : 0)
                let mean = family.mean(beta[0] + beta[1] * x + intercept + slope * x + extra)
                var count = 0
                if kind == .poisson {
                    guard mean < 1e15 else { return nil }
                    count = random.poisson(mean: mean)
                } else {
                    for _ in 0..<trials where random.uniform() < mean { count += 1 }
                }
                lines.append("\(count),\(trials),\(x),g\(g),a\(coarseGroups > 0 ? g % coarseGroups : 0),o\(lines.count)")
            }
        }
        let counts = lines.dropFirst().map { Int($0.prefix { $0 != "," })! }
        let constant = kind == .poisson ? counts.allSatisfy { $0 == 0 } : (counts.allSatisfy { $0 == 0 } || counts.allSatisfy { $0 == trials })
        guard !constant else { return nil }
        let values = (correlatedSlope ? beta + tau + [rho] : beta + tau)
            + (coarseGroups > 0 ? [tauCoarse] : []) + (observationLevel ? [tauObservation] : [])
        return CalibrationModel.Truth(values: values, csv: lines.joined(separator: "\n"))
    }

    /// The parameters in `parameterNames`' order from a sampler of `design` (whose terms are in
    /// decreasing number of levels, not the formula's order).
    func parameters(of sampler: some GibbsChainSampler, design: Design) -> [Double] {
        let covariances = sampler.covariances
        func sd(_ name: String) -> Double {
            covariances[design.terms.firstIndex { $0.groupingName == name }!][0].squareRoot()
        }
        let extra = (coarseGroups > 0 ? [sd("a")] : []) + (observationLevel ? [sd("obs")] : [])
        let covariance = covariances[design.terms.firstIndex { $0.groupingName == "g" }!]
        if correlatedSlope {
            let (t0, t1) = (covariance[0].squareRoot(), covariance[3].squareRoot())
            return sampler.beta + [t0, t1, covariance[1] / (t0 * t1)] + extra
        }
        return sampler.beta + [covariance[0].squareRoot()] + extra
    }

    func design(csv: String) throws -> Design {
        let data = try DataTable.parse(text: csv, source: "simulated", categorical: ["g", "a", "obs"])
        return try Design.build(data: data, formula: Formula.parse(formula), family: Family(kind, link: link))
    }
}

func runCalibration(model: GeneralizedCalibrationModel, replications: Int, seed: UInt64,
                    settings: CalibrationSettings) throws -> CalibrationResult {
    var ranks: [[Int]] = []
    var effectiveSizes: [[Double]] = []
    var replication = -1
    var skipped = 0
    while ranks.count < replications {
        replication += 1
        guard let truth = try model.simulate(random: RandomStream(seed: seed, chain: replication)) else {
            skipped += 1
            precondition(skipped <= replications / 4, "\(model): \(skipped) prior draws with unrepresentable counts or a constant response")
            continue
        }
        let design = try model.design(csv: truth.csv)
        let random = RandomStream(seed: seed &+ 1, chain: replication)
        let replicate = if AugmentedGibbs.augmentation(for: design.family) != nil && !IRLSProposalGibbs.outpacesAugmentation(design) {
            try rankReplication(truth: truth.values, sampler: try AugmentedGibbs(design: design, priors: model.priors), random: random,
                                settings: settings, parameters: { model.parameters(of: $0, design: design) })
        } else if LatentLogRateGibbs.applies(to: design) {
            try rankReplication(truth: truth.values, sampler: try LatentLogRateGibbs(design: design, priors: model.priors), random: random,
                                settings: settings, parameters: { model.parameters(of: $0, design: design) })
        } else {
            try rankReplication(truth: truth.values, sampler: try IRLSProposalGibbs(design: design, priors: model.priors), random: random,
                                settings: settings, parameters: { model.parameters(of: $0, design: design) })
        }
        ranks.append(replicate.ranks)
        effectiveSizes.append(replicate.effectiveSizes)
    }
    if skipped > 0 { print("SBC \(model): \(skipped) prior draws skipped (a mean of 1e15 or more, or a constant response)") }
    return CalibrationResult(parameterNames: model.parameterNames, ranks: ranks,
                             effectiveSizes: effectiveSizes, drawCount: settings.drawCount)
}

/// Simulation-based calibration of the GLMM Gibbs samplers (issue 13),
/// as `CalibrationTests` does for the Gaussian one: per model a χ² test on 10 bins for each
/// parameter, at level 0.01 for the model (Bonferroni over its parameters), fixed seeds.
@Suite struct GeneralizedGibbsCalibrationTests {
    /// The quick tier: Pólya-Gamma on a binary random intercept and on binomial (4 trials a row)
    /// correlated slopes, Albert-Chib on a binary random intercept and on 3 trials a row.
    /// Thinning makes the kept draws about independent (checked on the draws themselves): at thin
    /// 5 the median ESS per kept draw was 0.8-1.0 for Pólya-Gamma but 0.34-0.5 for Albert-Chib,
    /// whose unit-variance utilities couple (β, b) to the data more tightly, hence 12 there.
    static let quickModels: [(GeneralizedCalibrationModel, thin: Int)] = [
        (GeneralizedCalibrationModel(kind: .binomial, link: .logit, groups: 10, perGroup: 8, trials: 1, correlatedSlope: false), 5),
        (GeneralizedCalibrationModel(kind: .binomial, link: .logit, groups: 8, perGroup: 8, trials: 4, correlatedSlope: true), 10),
        (GeneralizedCalibrationModel(kind: .binomial, link: .probit, groups: 10, perGroup: 8, trials: 1, correlatedSlope: false), 12),
        (GeneralizedCalibrationModel(kind: .binomial, link: .probit, groups: 10, perGroup: 6, trials: 3, correlatedSlope: false), 12),
    ]

    /// The Poisson samplers: Laplace-proposal Metropolis-Hastings (shift moves, likelihood
    /// interweaving) on a random intercept and on correlated slopes; latent log rates with an
    /// observation-level term, beside a random intercept and beside groups nested in coarse groups
    /// (the nested-scales step).
    static let poissonModels: [(GeneralizedCalibrationModel, thin: Int)] = [
        (GeneralizedCalibrationModel(kind: .poisson, link: .log, groups: 10, perGroup: 8, trials: 1, correlatedSlope: false), 5),
        (GeneralizedCalibrationModel(kind: .poisson, link: .log, groups: 8, perGroup: 8, trials: 1, correlatedSlope: true), 10),
        (GeneralizedCalibrationModel(kind: .poisson, link: .log, groups: 10, perGroup: 8, trials: 1, correlatedSlope: false, observationLevel: true), 5),
        (GeneralizedCalibrationModel(kind: .poisson, link: .log, groups: 12, perGroup: 5, trials: 1, correlatedSlope: false, coarseGroups: 4, observationLevel: true), 5),
    ]
    /// Binomial rows of many trials, which the Laplace-proposal sampler takes in place of
    /// Pólya-Gamma (`IRLSProposalGibbs.manyTrials`).
    static let manyTrialModels: [(GeneralizedCalibrationModel, thin: Int)] = [
        (GeneralizedCalibrationModel(kind: .binomial, link: .logit, groups: 10, perGroup: 6, trials: 12, correlatedSlope: false), 5),
    ]
    static let allModels = quickModels + poissonModels + manyTrialModels
    static let modelCount = allModels.count
    /// `MIXMC_SBC_MODELS=6,7` runs only those models (indices into `allModels`), in
    /// either tier.
    static let selectedModels: [Int] = ProcessInfo.processInfo.environment["MIXMC_SBC_MODELS"]
        .map { $0.split(separator: ",").compactMap { Int($0) } } ?? Array(0..<modelCount)

    @Test(arguments: selectedModels)
    func ranksAreUniform(modelIndex: Int) throws {
        let (model, thin) = Self.allModels[modelIndex]
        let result = try runCalibration(model: model, replications: 100, seed: 20261203 + UInt64(modelIndex),
                                        settings: CalibrationSettings(thin: thin))
        let critical = familyCriticalValue(bins: 10, parameters: result.parameterNames.count)
        for (i, name) in result.parameterNames.enumerated() {
            let statistic = result.chiSquare(parameter: i)
            print("SBC \(model) \(name): χ² = \(String(format: "%.2f", statistic)), median ESS/L = \(String(format: "%.2f", result.medianRelativeESS(parameter: i))), bins \(result.histogram(parameter: i))")
            #expect(statistic < critical, "\(model): \(name) ranks χ² = \(statistic) ≥ \(critical), bins \(result.histogram(parameter: i))")
            #expect(result.medianRelativeESS(parameter: i) > 0.5, "\(model): \(name) ESS/L \(result.medianRelativeESS(parameter: i))")
        }
    }
}

/// The long tier of the GLMM Gibbs SBC, with the Gaussian one's switch: `MIXMC_SBC_LONG=1`
/// (`MIXMC_SBC_SEED` overrides the seed): 1000 replications of each quick-tier model, 20 bins.
/// `MIXMC_SBC_MODELS` selects models as in the quick tier; `MIXMC_SBC_WARMUP` sets the sweeps
/// discarded (default 200), to tell a slow start from slow mixing.
///
///   MIXMC_SBC_LONG=1 swift test -c release -Xswiftc -enable-testing --filter GeneralizedGibbsCalibrationLongTests
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MIXMC_SBC_LONG"] == "1"))
struct GeneralizedGibbsCalibrationLongTests {
    @Test(arguments: GeneralizedGibbsCalibrationTests.selectedModels)
    func ranksAreUniform(modelIndex: Int) throws {
        let (model, thin) = GeneralizedGibbsCalibrationTests.allModels[modelIndex]
        let seed = ProcessInfo.processInfo.environment["MIXMC_SBC_SEED"].flatMap { UInt64($0) } ?? 77_200_001
        let warmup = ProcessInfo.processInfo.environment["MIXMC_SBC_WARMUP"].flatMap { Int($0) } ?? CalibrationSettings().warmup
        let result = try runCalibration(model: model, replications: 1000, seed: seed + UInt64(modelIndex),
                                        settings: CalibrationSettings(thin: thin, warmup: warmup))
        let critical = familyCriticalValue(bins: 20, parameters: result.parameterNames.count)
        for (i, name) in result.parameterNames.enumerated() {
            let statistic = result.chiSquare(parameter: i, bins: 20)
            print("SBC long \(model) \(name): χ² = \(String(format: "%.2f", statistic)), bins \(result.histogram(parameter: i, bins: 20))")
            #expect(statistic < critical, "\(model): \(name) ranks χ² = \(statistic) ≥ \(critical)")
        }
    }
}
