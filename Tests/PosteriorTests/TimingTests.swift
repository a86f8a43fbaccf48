import Foundation
import ModelSpec
import Testing
import TestSupport

/// Seconds per value-and-gradient evaluation on the example models; opt-in with
/// MIXMC_POSTERIOR_TIMING=1 (reads models/, including InstEval's 73k rows).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MIXMC_POSTERIOR_TIMING"] == "1"))
struct TimingTests {
    @Test(arguments: ["sleepstudy", "sim_medium", "sim_crossed", "insteval"])
    func evaluationTime(model: String) throws {
        let design = try Fixtures.modelDesign(model)
        let priors = PriorSet.defaults(for: design)
        var random = TestRandom(seed: 1)
        for form in PosteriorForm.allCases {
            var seconds = 0.0
            var evaluations = 0
            func time<T: PosteriorEvaluating>(_ target: inout T, _ layout: PosteriorLayout) {
                let x = randomPoint(layout, design: design, random: &random)
                _ = target.valueAndGradient(x)
                let start = Date()
                while Date().timeIntervalSince(start) < 1 || evaluations < 3 {
                    _ = target.valueAndGradient(x)
                    evaluations += 1
                }
                seconds = Date().timeIntervalSince(start)
            }
            if form == .full {
                var target = try FullLogPosterior(design: design, priors: priors)
                time(&target, target.layout)
            } else {
                var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: form == .marginal)
                time(&target, target.layout)
            }
            print("timing \(model) \(form): \(String(format: "%.3g", seconds / Double(evaluations) * 1e3)) ms per value+gradient")
        }
    }
}
