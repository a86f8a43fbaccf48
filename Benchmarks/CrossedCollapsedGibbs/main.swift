// Cost and mixing of a collapsed Gibbs sampler for crossed random-intercept models, to weigh
// against the blocked joint draw of `mixmc sample` (docs/benchmarks.md, "Large crossed designs").
// See Benchmarks/README.md.
//
//     CrossedCollapsedGibbs MODEL_DIR [--chains C] [--warmup W] [--draws D] [--seed N]
//         [--fixed-sd S] [--scale A] [--dense-level-budget B] [--no-interweaving]
//
// Model: y = Xβ + Σ_k Z_k a_k + ε, every term a scalar random intercept (sim_crossed, InstEval),
// β ~ N(0, S²), σ, τ_k ~ half-Cauchy(0, A). The sampler is the library's `CollapsedCrossedGibbs`
// (`mixmc sample --algorithm collapsed-gibbs`; docs/math.md eq. 56-62), after Papaspiliopoulos,
// Roberts & Zanella (2020): for each large factor k, the block (β, small factors' effects, a_k)
// from its Gaussian full conditional given the other large factors, then σ² and the τ's by
// inverse-gamma steps and interweaving. A sweep reads the n rows once per large factor, so its
// cost grows linearly with n (no factorization).
import Foundation
import CNumerics
import Diagnostics
import ModelSpec
import Samplers
import Linalg

struct Options {
    var model = ""
    var chains = 4, warmup = 1000, draws = 1000
    var seed: UInt64 = 1
    var fixedSD = 20.0, scale = 2.0
    var denseLevelBudget = CollapsedCrossedGibbs.defaultDenseLevelBudget
    var interweaves = true
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        switch argument {
        case "--chains": options.chains = Int(arguments.next() ?? "") ?? options.chains
        case "--warmup": options.warmup = Int(arguments.next() ?? "") ?? options.warmup
        case "--draws": options.draws = Int(arguments.next() ?? "") ?? options.draws
        case "--seed": options.seed = UInt64(arguments.next() ?? "") ?? options.seed
        case "--fixed-sd": options.fixedSD = Double(arguments.next() ?? "") ?? options.fixedSD
        case "--scale": options.scale = Double(arguments.next() ?? "") ?? options.scale
        case "--dense-level-budget": options.denseLevelBudget = Int(arguments.next() ?? "") ?? options.denseLevelBudget
        case "--no-interweaving": options.interweaves = false
        default: options.model = argument
        }
    }
    return options
}

openblas_set_num_threads(1)
let options = parseOptions()
let directory = try ModelDirectory.load(path: options.model)
let formula = try Formula.parse(directory.formula)
let table = try DataTable.read(path: directory.dataPath, categorical: Set(directory.categorical).union(Design.variables(of: formula).grouping))
let design = try Design.build(data: table, formula: formula)
let termCount = design.terms.count
let priors = GibbsPriors(fixedMeans: Array(repeating: 0, count: design.fixedCount),
                         fixedSDs: Array(repeating: options.fixedSD, count: design.fixedCount),
                         sigmaScale: options.scale, tauScales: Array(repeating: [options.scale], count: termCount),
                         lkjEta: Array(repeating: 1, count: termCount))
var start = try CollapsedCrossedGibbs(design: design, priors: priors, denseLevelBudget: options.denseLevelBudget)
start.interweaves = options.interweaves
let names = design.fixed.columnNames.map { "b_" + $0 } + ["sigma"] + design.terms.map { "sd_" + $0.groupingName }
var draws = Array(repeating: [[Double]](), count: names.count)
let clock = ContinuousClock()
var sweepSeconds = 0.0
for chain in 1...options.chains {
    var sampler = start
    var random = RandomStream(seed: options.seed, chain: chain)
    var kept = Array(repeating: [Double](), count: names.count)
    let start = clock.now
    for _ in 0..<options.warmup { try sampler.sweep(random: &random) }
    for _ in 0..<options.draws {
        try sampler.sweep(random: &random)
        let values = sampler.beta + [sampler.sigma] + sampler.covariances.map { $0[0].squareRoot() }
        for (i, value) in values.enumerated() { kept[i].append(value) }
    }
    let elapsed = clock.now - start
    sweepSeconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    for i in names.indices { draws[i].append(kept[i]) }
}
let sweeps = Double(options.chains * (options.warmup + options.draws))
print("model \(options.model): \(design.observationCount) rows, \(design.terms.map(\.levelCount)) levels, \(options.chains) chains x (\(options.warmup) + \(options.draws)), one thread, dense level budget \(options.denseLevelBudget), interweaving \(options.interweaves)")
print(String(format: "seconds per sweep %.3e; sampling seconds (all chains, one after another) %.3f", sweepSeconds / sweeps, sweepSeconds))
var minimum = (Double.infinity, "")
for (i, name) in names.enumerated() {
    let ess = essBulk(draws[i])
    let all = draws[i].flatMap { $0 }
    let mean = all.reduce(0, +) / Double(all.count)
    print(String(format: "%-28@ mean %10.5g  bulk ESS %7.0f  ESS/sweep %.3f", name as NSString, mean, ess, ess / Double(options.chains * options.draws)))
    if ess < minimum.0 { minimum = (ess, name) }
}
print(String(format: "minimum bulk ESS %.0f (%@), %.1f per second of sampling on one core", minimum.0, minimum.1 as NSString, minimum.0 / sweepSeconds))
