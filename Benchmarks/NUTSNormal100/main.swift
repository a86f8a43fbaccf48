// NUTS on a 100-dimensional standard normal: ESS per second and gradient evaluations per draw.
// See Benchmarks/README.md for how to build and run it.
import Foundation
import Samplers
import TestSupport

struct StandardNormal: LogDensity {
    let dimension: Int
    func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                               gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        var sum = 0.0
        for i in 0..<dimension {
            sum += position[i] * position[i]
            gradient[i] = -position[i]
        }
        return -0.5 * sum
    }
}

final class Collector: ChainSink {
    var positions: [[Double]] = []
    var leapfrogSteps = 0
    func receive(_ draw: ChainDraw) {
        positions.append(draw.position)
        leapfrogSteps += draw.statistics.leapfrogSteps
    }
}


let dimension = 100
let chains = 4
var options = ChainOptions()
options.warmup = 1000
options.draws = 1000
for chain in 1...chains {
    options.seed = 20240601
    options.chain = chain
    let collector = Collector()
    let clock = ContinuousClock()
    var warmupEnd = clock.now
    final class Timer: ChainSink {
        let inner: Collector
        var onAdaptation: () -> Void
        init(_ inner: Collector, _ onAdaptation: @escaping () -> Void) { self.inner = inner; self.onAdaptation = onAdaptation }
        func adaptationFinished(_ adaptation: AdaptationResult) { onAdaptation() }
        func receive(_ draw: ChainDraw) { inner.receive(draw) }
    }
    let start = clock.now
    let summary = try runChain(target: StandardNormal(dimension: dimension),
                               initialPosition: (0..<dimension).map { sin(Double($0)) },
                               options: options, sink: Timer(collector, { warmupEnd = clock.now }))
    let end = clock.now
    let samplingSeconds = Double((end - warmupEnd).components.attoseconds) / 1e18 + Double((end - warmupEnd).components.seconds)
    let totalSeconds = Double((end - start).components.attoseconds) / 1e18 + Double((end - start).components.seconds)
    let ess = (0..<dimension).map { i in MonteCarlo.effectiveSampleSize(collector.positions.map { $0[i] }) }
    let squaredEss = (0..<dimension).map { i in MonteCarlo.effectiveSampleSize(collector.positions.map { $0[i] * $0[i] }) }
    let meanEss = ess.reduce(0, +) / Double(dimension)
    let minEss = ess.min()!
    print(String(format: "chain %d: step size %.3f, grad evals/draw %.2f (warmup %.2f), ESS mean %.0f min %.0f (x² min %.0f), sampling %.3f s, total %.3f s, ESS/s (min ESS / sampling s) %.0f, (min ESS / total s) %.0f",
                 chain, summary.adaptation!.stepSize,
                 Double(summary.gradientEvaluationsSampling) / Double(options.draws),
                 Double(summary.gradientEvaluationsWarmup) / Double(options.warmup),
                 meanEss, minEss, squaredEss.min()!, samplingSeconds, totalSeconds,
                 minEss / samplingSeconds, minEss / totalSeconds))
}
