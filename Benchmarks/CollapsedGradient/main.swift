// Milliseconds per value-and-gradient of the collapsed (or marginal) log-posterior at the REML
// fit, on one thread: the cost NUTS pays per leapfrog step (docs/benchmarks.md, "NUTS").
// See Benchmarks/README.md.
//
//     CollapsedGradient MODEL_DIR [--marginal] [--evaluations N]
import Foundation
import CNumerics
import ModelSpec
import PenalizedLS

openblas_set_num_threads(1)
var modelPath = ""
var marginal = false
var evaluations = 40
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--marginal": marginal = true
    case "--evaluations": evaluations = Int(arguments.next() ?? "") ?? evaluations
    default: modelPath = argument
    }
}
let directory = try ModelDirectory.load(path: modelPath)
let formula = try Formula.parse(directory.formula)
let table = try DataTable.read(path: directory.dataPath, categorical: Set(directory.categorical).union(Design.variables(of: formula).grouping))
let design = try Design.build(data: table, formula: formula)
let priors = try directory.priorsPath.map { try PriorSet.load(path: $0, design: design) } ?? PriorSet.defaults(for: design)
var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: marginal)
let fit = try MixedModelFit.fit(design)
let x = target.layout.unconstrain(fit.posteriorCenter)
var gradient = [Double](repeating: 0, count: x.count)
@MainActor func evaluate() -> Double {
    x.withUnsafeBufferPointer { position in
        gradient.withUnsafeMutableBufferPointer { target.logDensityAndGradient(position, gradient: $0) }
    }
}
let value = evaluate()
/// Milliseconds of `clock` (CLOCK_MONOTONIC: wall; CLOCK_THREAD_CPUTIME_ID: this thread's CPU
/// time, which a loaded machine inflates far less).
func milliseconds(_ clock: clockid_t) -> Double {
    var t = timespec()
    clock_gettime(clock, &t)
    return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) * 1e-6
}
var wall: [Double] = [], cpu: [Double] = []
for _ in 0..<evaluations {
    let (wall0, cpu0) = (milliseconds(CLOCK_MONOTONIC), milliseconds(CLOCK_THREAD_CPUTIME_ID))
    _ = evaluate()
    wall.append(milliseconds(CLOCK_MONOTONIC) - wall0)
    cpu.append(milliseconds(CLOCK_THREAD_CPUTIME_ID) - cpu0)
}
wall.sort()
cpu.sort()
let dense = target.factor.layout.denseDimension
print("\(modelPath) \(marginal ? "marginal" : "collapsed"): \(x.count) coordinates, dense block \(dense), log density \(value)")
print("gradient \(gradient.map { String(format: "%.15g", $0) }.joined(separator: " "))")
for (name, times) in [("wall", wall), ("thread CPU", cpu)] {
    print(String(format: "ms per value+gradient (%@) over %d: min %.2f, median %.2f, max %.2f", name, evaluations,
                 times[0], times[times.count / 2], times[times.count - 1]))
}
