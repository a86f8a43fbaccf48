// Seconds per Gibbs sweep as the number of rows grows with the groups fixed: simulated data of
// `y ~ 1 + x + z + (1 + x | g)` with 1000 groups (sim_medium's model and truth: β = (1, 0.5, -0.3),
// τ = (1, 0.5), correlation 0.3, σ = 1), 10^4 … 10^7 rows. See Benchmarks/README.md.
//
//     GibbsScaling [ROWS ...] [--groups G] [--sweeps S] [--seed N]
//
// For each row count: simulate (GSL's mt19937 from the seed, straight into columns: no CSV text),
// build the design (model matrices and cross-products, the only step that reads the rows), time
// the cross-products alone once more, then run 100 warmup sweeps and time S sweeps in blocks of
// S/10, reporting the median block's seconds per sweep.
import Foundation
import CNumerics
import ModelSpec
import Samplers

struct Options {
    var rows: [Int] = [10_000, 100_000, 1_000_000, 10_000_000]
    var groups = 1000
    var sweeps = 500
    var seed: UInt64 = 1
}

func parseOptions() -> Options {
    var options = Options()
    var rows: [Int] = []
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        switch argument {
        case "--groups": options.groups = Int(arguments.next() ?? "") ?? options.groups
        case "--sweeps": options.sweeps = Int(arguments.next() ?? "") ?? options.sweeps
        case "--seed": options.seed = UInt64(arguments.next() ?? "") ?? options.seed
        default:
            guard let value = Double(argument), value >= 1 else {
                FileHandle.standardError.write("usage: GibbsScaling [ROWS ...] [--groups G] [--sweeps S] [--seed N]\n".data(using: .utf8)!)
                exit(2)
            }
            rows.append(Int(value))
        }
    }
    if !rows.isEmpty { options.rows = rows }
    return options
}

/// n rows, row i in group i mod G (every group gets n/G rows), x, z ~ N(0, 1),
/// y = Xβ + b_g0 + b_g1 x + σ ε with (b_g0, b_g1) ~ N(0, Σ), Σ from τ = (1, 0.5) and ρ = 0.3.
func simulate(rows n: Int, groups: Int, seed: UInt64) -> DataTable {
    let random = RandomStream(seed: seed, chain: 0)
    let tau = (1.0, 0.5), rho = 0.3, sigma = 1.0
    var effects = [Double](repeating: 0, count: 2 * groups)
    for g in 0..<groups {
        let u0 = random.standardNormal(), u1 = random.standardNormal()
        effects[2 * g] = tau.0 * u0
        effects[2 * g + 1] = tau.1 * (rho * u0 + (1 - rho * rho).squareRoot() * u1)
    }
    var y = [Double](repeating: 0, count: n), x = y, z = y
    var codes = [Int32](repeating: 0, count: n)
    for i in 0..<n {
        let g = i % groups
        let xi = random.standardNormal(), zi = random.standardNormal()
        x[i] = xi
        z[i] = zi
        codes[i] = Int32(g)
        y[i] = 1 + 0.5 * xi - 0.3 * zi + effects[2 * g] + effects[2 * g + 1] * xi + sigma * random.standardNormal()
    }
    let levels = (0..<groups).map { "g" + String($0) }   // level order does not matter here
    return DataTable(source: "simulated(\(n) rows)", columns: [
        ("y", .numeric(y)), ("x", .numeric(x)), ("z", .numeric(z)),
        ("g", .categorical(Factor(levels: levels, codes: codes))),
    ])
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Peak resident set size so far (Linux `VmHWM`), in MiB.
func peakMemoryMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
    return kib / 1024
}

openblas_set_num_threads(1)
let options = parseOptions()
let formula = try Formula.parse("y ~ 1 + x + z + (1 + x | g)")
let clock = ContinuousClock()
print("rows,groups,simulate_s,design_s,cross_products_s,seconds_per_sweep,min_block_s_per_sweep,max_block_s_per_sweep,sigma_mean,peak_MiB")
for n in options.rows {
    var start = clock.now
    let data = simulate(rows: n, groups: options.groups, seed: options.seed)
    let simulateSeconds = seconds(clock.now - start)

    start = clock.now
    let design = try Design.build(data: data, formula: formula)
    let designSeconds = seconds(clock.now - start)
    // The cross-products alone (the part of the build every sweep relies on), built once more.
    start = clock.now
    let rebuilt = CrossProducts(terms: design.terms, fixed: design.fixed.matrix, response: design.response)
    let crossProductSeconds = seconds(clock.now - start)
    precondition(rebuilt.dense.storage == design.crossProducts.dense.storage)

    let priors = GibbsPriors(fixedMeans: [0, 0, 0], fixedSDs: [30, 30, 30], sigmaScale: 3, tauScales: [[3, 3]], lkjEta: [1])
    var sampler = try GibbsSampler(design: design, priors: priors)
    var random = RandomStream(seed: options.seed, chain: 1)
    for _ in 0..<100 { try sampler.sweep(random: &random) }
    let blocks = 10
    let perBlock = max(1, options.sweeps / blocks)
    var blockSeconds: [Double] = []
    var sigmaSum = 0.0
    for _ in 0..<blocks {
        start = clock.now
        for _ in 0..<perBlock {
            try sampler.sweep(random: &random)
            sigmaSum += sampler.sigma
        }
        blockSeconds.append(seconds(clock.now - start) / Double(perBlock))
    }
    let line = [String(n), String(options.groups), String(format: "%.3f", simulateSeconds), String(format: "%.3f", designSeconds),
                String(format: "%.3f", crossProductSeconds), String(format: "%.3e", median(blockSeconds)),
                String(format: "%.3e", blockSeconds.min()!), String(format: "%.3e", blockSeconds.max()!),
                String(format: "%.4f", sigmaSum / Double(blocks * perBlock)), String(format: "%.0f", peakMemoryMiB())]
    print(line.joined(separator: ","))
}
