import Foundation
import Diagnostics
import ModelSpec
import Testing
import TestSupport
import Samplers

/// Bulk-ESS per 1000 sweeps of β, σ and τ under the sweep's variants (docs/benchmarks.md).
/// A measurement, not a check: it runs only with `MIXMC_MIXING=1` and prints a table; run it in
/// a release build:
///
///   MIXMC_MIXING=1 swift test -c release --filter MixingMeasurements
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MIXMC_MIXING"] == "1"))
struct MixingMeasurements {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let file: String
        let formula: String
        let grouping: String
        let priors: GibbsPriors
        var description: String { name }
    }

    /// The issue's reference priors: β ~ N(0, 1000²), σ, τ ~ half-Cauchy(0, 100), LKJ(1).
    static let cases: [Case] = [
        Case(name: "Dyestuff", file: "Dyestuff", formula: "Yield ~ 1 + (1 | Batch)", grouping: "Batch",
             priors: GibbsPriors(fixedMeans: [0], fixedSDs: [1000], sigmaScale: 100, tauScales: [[100]], lkjEta: [1])),
        Case(name: "Dyestuff2", file: "Dyestuff2", formula: "Yield ~ 1 + (1 | Batch)", grouping: "Batch",
             priors: GibbsPriors(fixedMeans: [0], fixedSDs: [1000], sigmaScale: 100, tauScales: [[100]], lkjEta: [1])),
        Case(name: "sleepstudy", file: "sleepstudy", formula: "Reaction ~ Days + (Days | Subject)", grouping: "Subject",
             priors: GibbsPriors(fixedMeans: [0, 0], fixedSDs: [1000, 1000], sigmaScale: 100, tauScales: [[100, 100]], lkjEta: [1])),
    ]

    @Test(arguments: cases)
    func essPerThousandSweeps(_ example: Case) throws {
        let data = try DataTable.read(path: Fixtures.url("data/\(example.file).csv").path, categorical: [example.grouping])
        let design = try Design.build(data: data, formula: Formula.parse(example.formula))
        let (warmup, sweeps) = (1000, 20000)
        var lines: [String] = []
        let settings: [(label: String, marginalizes: Bool, interweaves: Bool, interweavesSigma: Bool)] = [
            ("centered, interweaving off", false, false, false),
            ("centered + interweaving", false, true, false),
            ("centered + interweaving + σ (eq. 36)", false, true, true),
            ("σ, Σ₁ with b₁ integrated out (eq. 63-66, the default)", true, true, false),
        ]
        for setting in settings {
            var sampler = try GibbsSampler(design: design, priors: example.priors)
            sampler.marginalizesFirstTermScales = setting.marginalizes
            sampler.interweaves = setting.interweaves
            sampler.interweavesResidualScale = setting.interweavesSigma
            var random = RandomStream(seed: 2011, chain: 1)
            sampler.beginWarmup()
            for _ in 0..<warmup { try sampler.sweep(random: &random) }
            sampler.endWarmup()
            var draws: [String: [Double]] = [:]
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<sweeps {
                try sampler.sweep(random: &random)
                for (i, value) in sampler.beta.enumerated() { draws["beta\(i)", default: []].append(value) }
                draws["sigma", default: []].append(sampler.sigma)
                let k = design.terms[0].size
                for c in 0..<k { draws["tau\(c)", default: []].append(sampler.covariances[0][c * (k + 1)].squareRoot()) }
            }
            let seconds = (clock.now - start) / .seconds(1)
            let ess = draws.keys.sorted().map { name in
                "\(name) \(String(format: "%.0f", essBulk([draws[name]!]) / Double(sweeps) * 1000))"
            }
            lines.append("\(example.name), \(setting.label): bulk-ESS per 1000 sweeps: "
                         + ess.joined(separator: ", ") + String(format: "; %.1f µs/sweep", seconds / Double(sweeps) * 1e6))
        }
        print(lines.joined(separator: "\n"))
    }

    /// Autocorrelation of the SBC models' chains, to choose the thinning (docs/calibration.md):
    /// median over 20 simulated data sets of bulk-ESS per sweep for each parameter.
    @Test(arguments: [false, true])
    func calibrationModelsESSPerSweep(correlatedSlope: Bool) throws {
        let model = correlatedSlope ? CalibrationModel(groups: 8, perGroup: 6, correlatedSlope: true)
                                    : CalibrationModel(groups: 10, perGroup: 5, correlatedSlope: false)
        for marginalizes in [false, true] {
            var perParameter: [[Double]] = Array(repeating: [], count: model.parameterNames.count)
            for replication in 0..<20 {
                let truth = model.simulate(random: RandomStream(seed: 99, chain: replication))
                var sampler = try GibbsSampler(design: try model.design(csv: truth.csv), priors: model.priors)
                sampler.marginalizesFirstTermScales = marginalizes
                var random = RandomStream(seed: 100, chain: replication)
                sampler.beginWarmup()
                for _ in 0..<200 { try sampler.sweep(random: &random) }
                sampler.endWarmup()
                var draws: [[Double]] = Array(repeating: [], count: model.parameterNames.count)
                for _ in 0..<4000 {
                    try sampler.sweep(random: &random)
                    for (i, value) in model.parameters(of: sampler).enumerated() { draws[i].append(value) }
                }
                for i in draws.indices { perParameter[i].append(essBulk([draws[i]]) / 4000) }
            }
            let summary = zip(model.parameterNames, perParameter).map { name, values in
                let sorted = values.sorted()
                return "\(name) median \(String(format: "%.3f", sorted[sorted.count / 2])) min \(String(format: "%.3f", sorted[0]))"
            }
            print("\(model) \(marginalizes ? "σ, Σ₁ with b₁ integrated out (default)" : "centered + interweaving"): ESS per sweep: " + summary.joined(separator: ", "))
        }
    }
}
