import Foundation
import Diagnostics
import ModelSpec
import Samplers

/// A small simulated model for simulation-based calibration (Talts, Betancourt, Simpson, Vehtari
/// & Gelman 2018, *Validating Bayesian inference algorithms with simulation-based calibration*):
/// `groups` groups of `perGroup` rows, x ~ N(0, 1), and
///
///   y = β₀ + β₁ x + b_{g,0} + b_{g,1} x (slope only when `correlatedSlope`) + ε,
///
/// with the priors of `priors` (docs/calibration.md): β ~ N(0, 1), σ ~ half-Cauchy(0, 1),
/// τ ~ half-Cauchy(0, 1), R ~ LKJ(2).
struct CalibrationModel: Sendable, CustomStringConvertible {
    let groups: Int
    let perGroup: Int
    let correlatedSlope: Bool

    var formula: String { correlatedSlope ? "y ~ 1 + x + (1 + x | g)" : "y ~ 1 + x + (1 | g)" }
    var termSize: Int { correlatedSlope ? 2 : 1 }
    var description: String { "\(formula), \(groups) groups x \(perGroup) rows" }

    /// The generating priors; the sampler is given the same ones unless a test means otherwise.
    var priors: GibbsPriors {
        GibbsPriors(fixedMeans: [0, 0], fixedSDs: [1, 1], sigmaScale: 1,
                    tauScales: [Array(repeating: 1, count: termSize)], lkjEta: [2])
    }

    /// Names of the checked quantities, in the order of `Truth.values`.
    var parameterNames: [String] {
        correlatedSlope ? ["beta0", "beta1", "sigma", "tau0", "tau1", "rho"] : ["beta0", "beta1", "sigma", "tau"]
    }

    /// One draw of the parameters from the priors and of a data set given them.
    struct Truth {
        let values: [Double]
        let csv: String
    }

    func simulate(random: RandomStream) -> Truth {
        let prior = priors
        let beta = (0..<2).map { prior.fixedMeans[$0] + prior.fixedSDs[$0] * random.standardNormal() }
        let sigma = halfCauchy(scale: prior.sigmaScale, random: random)
        let tau = prior.tauScales[0].map { halfCauchy(scale: $0, random: random) }
        // LKJ(η) for k = 2: (r + 1)/2 ~ Beta(η, η).
        var rho = 0.0
        if correlatedSlope {
            let eta = prior.lkjEta[0]
            let first = random.gamma(shape: eta, scale: 1), second = random.gamma(shape: eta, scale: 1)
            rho = 2 * first / (first + second) - 1
        }
        var lines = ["y,x,g"]
        lines.reserveCapacity(groups * perGroup + 1)
        for g in 0..<groups {
            let z0 = random.standardNormal(), z1 = random.standardNormal()
            let intercept = tau[0] * z0
            let slope = correlatedSlope ? tau[1] * (rho * z0 + (1 - rho * rho).squareRoot() * z1) : 0
            for _ in 0..<perGroup {
                let x = random.standardNormal()
                let y = beta[0] + beta[1] * x + intercept + slope * x + sigma * random.standardNormal()
                lines.append("\(y),\(x),g\(g)")
            }
        }
        let values = correlatedSlope ? beta + [sigma] + tau + [rho] : beta + [sigma] + tau
        return Truth(values: values, csv: lines.joined(separator: "\n"))
    }

    /// The checked quantities at the sampler's current state.
    func parameters(of sampler: GibbsSampler) -> [Double] {
        let covariance = sampler.covariances[0]
        if correlatedSlope {
            let (t0, t1) = (covariance[0].squareRoot(), covariance[3].squareRoot())
            return sampler.beta + [sampler.sigma, t0, t1, covariance[1] / (t0 * t1)]
        }
        return sampler.beta + [sampler.sigma, covariance[0].squareRoot()]
    }

    func design(csv: String) throws -> Design {
        let data = try DataTable.parse(text: csv, source: "simulated", categorical: ["g"])
        return try Design.build(data: data, formula: Formula.parse(formula))
    }
}

/// s ~ half-Cauchy(0, A) by inversion: A tan(πU/2).
func halfCauchy(scale: Double, random: RandomStream) -> Double {
    scale * tan(Double.pi / 2 * random.uniform())
}

/// How one SBC run draws from the posterior of each simulated data set.
struct CalibrationSettings: Sendable {
    /// L: posterior draws kept per replication (ranks take L + 1 values).
    var drawCount = 99
    /// Sweeps between kept draws.
    var thin = 5
    /// Sweeps discarded from the sampler's default start.
    var warmup = 200
    var interweaves = true
    /// The optional interweaving step for σ (docs/math.md, eq. 36).
    var interweavesResidualScale = false
}

/// The outcome of an SBC run: per replication and parameter, the rank of the true value among
/// the L draws (0…L), and the bulk-ESS of the L kept draws (how independent they were).
struct CalibrationResult {
    let parameterNames: [String]
    let ranks: [[Int]]
    let effectiveSizes: [[Double]]
    let drawCount: Int

    func ranks(of parameter: Int) -> [Int] { ranks.map { $0[parameter] } }

    /// Pearson's χ² statistic of the ranks of one parameter in `bins` equal bins of the L + 1
    /// possible ranks ((L + 1) must be a multiple of `bins`).
    func chiSquare(parameter: Int, bins: Int = 10) -> Double {
        let counts = histogram(parameter: parameter, bins: bins)
        let expected = Double(ranks.count) / Double(bins)
        return counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    }

    /// Counts of one parameter's ranks in `bins` equal bins of the L + 1 possible ranks.
    func histogram(parameter: Int, bins: Int = 10) -> [Int] {
        let values = drawCount + 1
        precondition(values % bins == 0, "L + 1 must split evenly into the bins")
        var counts = [Int](repeating: 0, count: bins)
        for rank in ranks(of: parameter) { counts[rank * bins / values] += 1 }
        return counts
    }

    /// Median over replications of ESS / L for one parameter.
    func medianRelativeESS(parameter: Int) -> Double {
        let sorted = effectiveSizes.map { $0[parameter] / Double(drawCount) }.filter { !$0.isNaN }.sorted()
        return sorted[sorted.count / 2]
    }
}

/// Runs SBC: for each replication r, simulate (θ̃, y) from the model with stream (seed, r), sample
/// the posterior given y with stream (seed + 1, r) under `samplerPriors` (the model's own priors
/// unless a test deliberately breaks them), and record the rank of θ̃ among L thinned draws.
/// `step` is one transition of the chain: by default a Gibbs sweep; power tests pass a broken one.
func runCalibration(model: CalibrationModel, replications: Int, seed: UInt64,
                    settings: CalibrationSettings = CalibrationSettings(),
                    samplerPriors: GibbsPriors? = nil,
                    step: (inout GibbsSampler, inout RandomStream) throws -> Void = { try $0.sweep(random: &$1) }) throws -> CalibrationResult {
    var ranks: [[Int]] = []
    var effectiveSizes: [[Double]] = []
    for replication in 0..<replications {
        let truth = model.simulate(random: RandomStream(seed: seed, chain: replication))
        let design = try model.design(csv: truth.csv)
        var sampler = try GibbsSampler(design: design, priors: samplerPriors ?? model.priors)
        sampler.interweaves = settings.interweaves
        sampler.interweavesResidualScale = settings.interweavesResidualScale
        let replicate = try rankReplication(truth: truth.values, sampler: sampler, random: RandomStream(seed: seed &+ 1, chain: replication),
                                            settings: settings, parameters: model.parameters(of:), step: step)
        ranks.append(replicate.ranks)
        effectiveSizes.append(replicate.effectiveSizes)
    }
    return CalibrationResult(parameterNames: model.parameterNames, ranks: ranks,
                             effectiveSizes: effectiveSizes, drawCount: settings.drawCount)
}

/// One SBC replication: `settings.warmup` steps of `sampler` from its start, then L draws thinned
/// by `settings.thin`; the rank of each true value among its L draws, and their bulk-ESS.
func rankReplication<Sampler: GibbsChainSampler>(
    truth: [Double], sampler: Sampler, random: RandomStream, settings: CalibrationSettings,
    parameters: (Sampler) -> [Double],
    step: (inout Sampler, inout RandomStream) throws -> Void = { try $0.sweep(random: &$1) }
) throws -> (ranks: [Int], effectiveSizes: [Double]) {
    var sampler = sampler
    var random = random
    sampler.beginWarmup()
    for _ in 0..<settings.warmup { try step(&sampler, &random) }
    sampler.endWarmup()
    var draws: [[Double]] = Array(repeating: [], count: truth.count)
    for _ in 0..<settings.drawCount {
        for _ in 0..<settings.thin { try step(&sampler, &random) }
        for (i, value) in parameters(sampler).enumerated() { draws[i].append(value) }
    }
    let ranks = zip(truth, draws).map { value, chain in chain.reduce(0) { $0 + ($1 < value ? 1 : 0) } }
    return (ranks, draws.map { essBulk([$0]) })
}

/// The critical value of the per-parameter χ² tests that together test "every parameter's ranks
/// are uniform" at level 0.01 (Bonferroni: each at 0.01 / `parameters`), for `bins` bins:
/// R's `qchisq(1 - 0.01 / parameters, bins - 1)`. Testing each of k parameters at 0.01 instead
/// would fail a calibrated sampler at about k % of seeds (docs/calibration.md).
func familyCriticalValue(bins: Int, parameters: Int) -> Double {
    switch (bins, parameters) {
    case (10, 3): return 24.690484843053003
    case (10, 4): return 25.462478697854408
    case (10, 5): return 26.056433345164141
    case (10, 6): return 26.53877923022551
    case (20, 3): return 39.938849338465694
    case (20, 4): return 40.8849737292633
    case (20, 5): return 41.610259924134354
    case (20, 6): return 42.197634893775344
    default: preconditionFailure("no tabulated χ² quantile for \(bins) bins and \(parameters) parameters")
    }
}
