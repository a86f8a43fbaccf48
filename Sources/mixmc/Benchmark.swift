import ArgumentParser
import Foundation
import ModelSpec
import PenalizedLS

struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the stages of a REML/ML fit (read, design, optimize) over repeated runs; see docs/benchmarks.md.")

    @OptionGroup var model: ModelOptions

    @Flag(help: "Maximum likelihood instead of REML.")
    var ml = false

    @Option(help: "Number of timed repetitions (the median is reported).")
    var repeats = 5

    mutating func run() throws {
        try runReportingErrors {
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
            var designSeconds: [Double] = []
            var fitSeconds: [Double] = []
            var lastFit: MixedModelFit?
            var lastDesign: Design?
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                let design = try model.loadGaussianDesign(command: "benchmark")
                let built = ContinuousClock.now
                let fit = try MixedModelFit.fit(design, method: ml ? .ml : .reml)
                let done = ContinuousClock.now
                designSeconds.append(seconds(built - start))
                fitSeconds.append(seconds(done - built))
                lastFit = fit
                lastDesign = design
            }
            guard let fit = lastFit, let design = lastDesign else { return }
            let fitMedian = median(fitSeconds)
            print("model:        \(design.formula.source)")
            print("data:         \(design.dataSource) (\(design.observationCount) rows, \(design.crossProducts.layout.dimension - 1) random + fixed columns)")
            print("objective:    \(fit.objective) (\(fit.method.rawValue))")
            print(String(format: "read+design:  %.4f s (median of %d)", median(designSeconds), repeats))
            print(String(format: "fit:          %.4f s (median of %d), %d evaluations, %.3f ms per evaluation", fitMedian, repeats,
                         fit.optimizerEvaluations, 1000 * fitMedian / Double(fit.optimizerEvaluations)))
            print(String(format: "total:        %.4f s", median(designSeconds) + fitMedian))
        }
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
