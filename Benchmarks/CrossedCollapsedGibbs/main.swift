// Cost and mixing of a collapsed Gibbs sampler for crossed random-intercept models, to weigh
// against the blocked joint draw of `mixmc sample` (docs/benchmarks.md, "Large crossed designs").
// See Benchmarks/README.md.
//
//     CrossedCollapsedGibbs MODEL_DIR [--chains C] [--warmup W] [--draws D] [--seed N]
//         [--fixed-sd S] [--scale A]
//
// Model: y = Xβ + Σ_k Z_k a_k + ε, every term a scalar random intercept (sim_crossed, InstEval),
// β ~ N(0, S²), σ, τ_k ~ half-Cauchy(0, A). One sweep, in the spirit of Papaspiliopoulos,
// Roberts & Zanella (2020): for each factor k, the block (β, a_k) from its Gaussian full
// conditional given the other factors (β drawn from its marginal through the Schur complement of
// the diagonal a_k block, then a_k | β level by level), then σ² and each τ_k² by the
// inverse-gamma steps of docs/math.md eq. 23-24. Every step is an exact Gibbs step; a sweep
// reads the n rows a few times per factor, so its cost grows linearly with n (no factorization).
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
        default: options.model = argument
        }
    }
    return options
}

/// The data a sweep needs, built once: rows, X (row-major n x p), per factor its codes, level
/// counts and the per-level sums of X's rows.
struct CrossedData {
    let n: Int, p: Int
    let y: [Double]
    let x: [Double]
    let codes: [[Int32]]
    let levelCounts: [Int]
    let rowsPerLevel: [[Double]]
    let xSumsPerLevel: [[Double]]   // level-major, p per level
    let xtx: [Double]               // p x p

    init(design: Design) {
        precondition(design.terms.allSatisfy { $0.size == 1 }, "every term must be a scalar random intercept")
        n = design.observationCount
        p = design.fixedCount
        y = zip(design.response, design.offset).map { $0 - $1 }
        let fixed = design.fixed.matrix
        var x = [Double](repeating: 0, count: n * p)
        for i in 0..<n { for c in 0..<p { x[i * p + c] = fixed[i, c] } }
        self.x = x
        codes = design.terms.map(\.groupCodes)
        levelCounts = design.terms.map(\.levelCount)
        var rowsPerLevel: [[Double]] = [], xSums: [[Double]] = []
        for (k, levels) in levelCounts.enumerated() {
            var count = [Double](repeating: 0, count: levels), sums = [Double](repeating: 0, count: levels * p)
            for i in 0..<n {
                let h = Int(codes[k][i])
                count[h] += 1
                for c in 0..<p { sums[h * p + c] += x[i * p + c] }
            }
            rowsPerLevel.append(count)
            xSums.append(sums)
        }
        self.rowsPerLevel = rowsPerLevel
        xSumsPerLevel = xSums
        var xtx = [Double](repeating: 0, count: p * p)
        for i in 0..<n { for a in 0..<p { for b in 0..<p { xtx[a * p + b] += x[i * p + a] * x[i * p + b] } } }
        self.xtx = xtx
    }
}

struct CollapsedGibbs {
    let data: CrossedData
    let fixedPrecision: Double
    var beta: [Double]
    var effects: [[Double]]
    var sigma: Double
    var tau: [Double]
    var sigmaPrior: HalfCauchyVariance
    var tauPriors: [HalfCauchyVariance]
    /// y − Xβ − Σ_k Z_k a_k, kept current.
    var residual: [Double]

    init(data: CrossedData, fixedSD: Double, scale: Double) {
        self.data = data
        fixedPrecision = 1 / (fixedSD * fixedSD)
        beta = Array(repeating: 0, count: data.p)
        effects = data.levelCounts.map { Array(repeating: 0, count: $0) }
        let variance = data.y.reduce(0) { $0 + $1 * $1 } / Double(data.n)
        sigma = variance.squareRoot()
        tau = Array(repeating: sigma, count: data.levelCounts.count)
        sigmaPrior = HalfCauchyVariance(scale: scale)
        tauPriors = data.levelCounts.map { _ in HalfCauchyVariance(scale: scale) }
        residual = data.y
    }

    mutating func sweep(random: RandomStream) {
        let n = data.n, p = data.p
        let variance = sigma * sigma
        for k in 0..<data.levelCounts.count {
            let levels = data.levelCounts[k]
            let codes = data.codes[k]
            // r = y − Σ_{j≠k} Z_j a_j = residual + Xβ + Z_k a_k; its per-level sums and Xᵀr.
            var levelSums = [Double](repeating: 0, count: levels)
            var xr = [Double](repeating: 0, count: p)
            let a = effects[k]
            for i in 0..<n {
                var r = residual[i] + a[Int(codes[i])]
                for c in 0..<p { r += data.x[i * p + c] * beta[c] }
                levelSums[Int(codes[i])] += r
                for c in 0..<p { xr[c] += data.x[i * p + c] * r }
            }
            // Precision of a_h: n_h/σ² + 1/τ²; β's marginal precision and linear term (Schur).
            let tauPrecision = 1 / (tau[k] * tau[k])
            var precision = data.xtx.map { $0 / variance }
            for c in 0..<p { precision[c * p + c] += fixedPrecision }
            var linear = xr.map { $0 / variance }
            let sums = data.xSumsPerLevel[k], counts = data.rowsPerLevel[k]
            for h in 0..<levels {
                let d = counts[h] / variance + tauPrecision
                for c in 0..<p {
                    let sc = sums[h * p + c] / variance
                    linear[c] -= sc * (levelSums[h] / variance) / d
                    for e in 0..<p { precision[c * p + e] -= sc * (sums[h * p + e] / variance) / d }
                }
            }
            // β ~ N(P⁻¹ c, P⁻¹) by Cholesky P = L Lᵀ: β = L⁻ᵀ (L⁻¹ c + z).
            var l = precision
            let ok = l.withUnsafeMutableBufferPointer { SmallDense.choleskyLowerInPlace($0.baseAddress!, order: p) }
            precondition(ok, "β's conditional precision is not positive definite")
            var v = linear
            l.withUnsafeBufferPointer { lp in v.withUnsafeMutableBufferPointer { SmallDense.solveLower(lp.baseAddress!, order: p, $0.baseAddress!) } }
            for c in 0..<p { v[c] += random.standardNormal() }
            l.withUnsafeBufferPointer { lp in v.withUnsafeMutableBufferPointer { SmallDense.solveLowerTransposed(lp.baseAddress!, order: p, $0.baseAddress!) } }
            let newBeta = v
            // a_h | β: mean (Σ_{i∈h} (r_i − x_iβ)/σ²) / d_h, variance 1/d_h.
            var newA = [Double](repeating: 0, count: levels)
            for h in 0..<levels {
                var s = levelSums[h]
                for c in 0..<p { s -= sums[h * p + c] * newBeta[c] }
                let d = counts[h] / variance + tauPrecision
                newA[h] = s / variance / d + random.standardNormal() / d.squareRoot()
            }
            // residual ← r − Xβ' − Z_k a'_k.
            for i in 0..<n {
                var r = residual[i] + a[Int(codes[i])] - newA[Int(codes[i])]
                for c in 0..<p { r += data.x[i * p + c] * (beta[c] - newBeta[c]) }
                residual[i] = r
            }
            beta = newBeta
            effects[k] = newA
        }
        let ssr = residual.reduce(0) { $0 + $1 * $1 }
        sigma = sigmaPrior.update(variance: variance, count: n, sumOfSquares: ssr, random: random).squareRoot()
        for k in 0..<tau.count {
            let ss = effects[k].reduce(0) { $0 + $1 * $1 }
            tau[k] = tauPriors[k].update(variance: tau[k] * tau[k], count: data.levelCounts[k], sumOfSquares: ss, random: random).squareRoot()
        }
    }
}

openblas_set_num_threads(1)
let options = parseOptions()
let directory = try ModelDirectory.load(path: options.model)
let formula = try Formula.parse(directory.formula)
let table = try DataTable.read(path: directory.dataPath, categorical: Set(directory.categorical).union(Design.variables(of: formula).grouping))
let design = try Design.build(data: table, formula: formula)
let data = CrossedData(design: design)
let names = design.fixed.columnNames.map { "b_" + $0 } + ["sigma"] + design.terms.map { "sd_" + $0.groupingName }
var draws = Array(repeating: [[Double]](), count: names.count)
let clock = ContinuousClock()
var sweepSeconds = 0.0
for chain in 1...options.chains {
    var sampler = CollapsedGibbs(data: data, fixedSD: options.fixedSD, scale: options.scale)
    let random = RandomStream(seed: options.seed, chain: chain)
    var kept = Array(repeating: [Double](), count: names.count)
    let start = clock.now
    for _ in 0..<options.warmup { sampler.sweep(random: random) }
    for _ in 0..<options.draws {
        sampler.sweep(random: random)
        let values = sampler.beta + [sampler.sigma] + sampler.tau
        for (i, value) in values.enumerated() { kept[i].append(value) }
    }
    let elapsed = clock.now - start
    sweepSeconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    for i in names.indices { draws[i].append(kept[i]) }
}
let sweeps = Double(options.chains * (options.warmup + options.draws))
print("model \(options.model): \(data.n) rows, \(data.levelCounts) levels, \(options.chains) chains x (\(options.warmup) + \(options.draws)), one thread")
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
