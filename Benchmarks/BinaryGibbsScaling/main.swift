// Nanoseconds per row per sweep of the Pólya-Gamma blocked Gibbs sampler (issue 13) as the rows
// grow with the groups fixed: simulated binary data of `y ~ 1 + x + (1 | g)`, 1000 groups,
// β = (−0.5, 1), τ = 1, 10^4 … 10^6 rows; beside it the cost of one PG(1, z) draw at the same
// linear predictors, the unavoidable per-row work. See Benchmarks/README.md.
//
//     BinaryGibbsScaling [ROWS ...] [--groups G] [--sweeps S] [--seed N]
import Foundation
import CNumerics
import ModelSpec
import Samplers

var rowCounts = [10_000, 100_000, 1_000_000]
var groups = 1000, sweeps = 200
var seed: UInt64 = 1
var arguments = CommandLine.arguments.dropFirst().makeIterator()
var given: [Int] = []
while let argument = arguments.next() {
    switch argument {
    case "--groups": groups = Int(arguments.next() ?? "") ?? groups
    case "--sweeps": sweeps = Int(arguments.next() ?? "") ?? sweeps
    case "--seed": seed = UInt64(arguments.next() ?? "") ?? seed
    default:
        guard let value = Double(argument), value >= 1 else {
            FileHandle.standardError.write("usage: BinaryGibbsScaling [ROWS ...] [--groups G] [--sweeps S] [--seed N]\n".data(using: .utf8)!)
            exit(2)
        }
        given.append(Int(value))
    }
}
if !given.isEmpty { rowCounts = given }

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

openblas_set_num_threads(1)
let clock = ContinuousClock()
let formula = try Formula.parse("y ~ 1 + x + (1 | g)")
print("rows,groups,seconds_per_sweep,ns_per_row_per_sweep,ns_per_pg_draw,ratio")
for n in rowCounts {
    let random = RandomStream(seed: seed, chain: 0)
    let effects = (0..<groups).map { _ in random.standardNormal() }
    var y = [Double](repeating: 0, count: n), x = y
    var codes = [Int32](repeating: 0, count: n)
    for i in 0..<n {
        let g = i % groups
        x[i] = random.standardNormal()
        codes[i] = Int32(g)
        let eta = -0.5 + x[i] + effects[g]
        y[i] = random.uniform() < 1 / (1 + exp(-eta)) ? 1 : 0
    }
    let data = DataTable(source: "simulated(\(n) rows)", columns: [
        ("y", .numeric(y)), ("x", .numeric(x)),
        ("g", .categorical(Factor(levels: (0..<groups).map { "g\($0)" }, codes: codes))),
    ])
    let design = try Design.build(data: data, formula: formula, family: Family(.binomial))
    let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [10, 10], sigmaScale: 1, tauScales: [[5]], lkjEta: [1])
    var sampler = try AugmentedGibbs(design: design, priors: priors)
    var stream = RandomStream(seed: seed, chain: 1)
    for _ in 0..<20 { try sampler.sweep(random: &stream) }
    var start = clock.now
    for _ in 0..<sweeps { try sampler.sweep(random: &stream) }
    let perSweep = seconds(clock.now - start) / Double(sweeps)

    // One PG(1, η_i) draw per row at the sampler's current η, timed alone.
    let pg = PolyaGammaSampler(b: 1)
    let eta = sampler.linearPredictor
    var sink = 0.0
    let repeats = max(1, 2_000_000 / n)
    start = clock.now
    for _ in 0..<repeats { for value in eta { sink += pg.draw(z: value, random: stream) } }
    let perDraw = seconds(clock.now - start) / Double(repeats * n)
    precondition(sink > 0)
    let perRow = perSweep / Double(n)
    print([String(n), String(groups), String(format: "%.3e", perSweep), String(format: "%.1f", perRow * 1e9),
           String(format: "%.1f", perDraw * 1e9), String(format: "%.2f", perRow / perDraw)].joined(separator: ","))
}
