import Foundation
import ModelSpec
import Samplers
import Testing
import TestSupport

/// The LogDensity adapters drive the NUTS chain runner on Dyestuff: short runs, finite values.
@Suite struct NUTSSmokeTests {
    final class Collect: ChainSink {
        var positions: [[Double]] = []
        var adaptation: AdaptationResult?
        func adaptationFinished(_ adaptation: AdaptationResult) { self.adaptation = adaptation }
        func receive(_ draw: ChainDraw) { positions.append(draw.position) }
    }

    @Test(arguments: PosteriorForm.allCases)
    func dyestuffChainRuns(form: PosteriorForm) throws {
        let design = try TestModel.dyestuff.design()
        let priors = PriorSet.defaults(for: design)
        var options = ChainOptions()
        options.warmup = 150
        options.draws = 100
        options.seed = 2026
        let sink = Collect()
        let summary: ChainSummary
        var layout: PosteriorLayout
        switch form {
        case .full:
            let target = try FullLogPosterior(design: design, priors: priors)
            layout = target.layout
            summary = try runChain(target: target, initialPosition: Self.start(layout, design), options: options, sink: sink)
        case .collapsed, .marginal:
            var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: form == .marginal)
            layout = target.layout
            summary = try runChain(target: target, initialPosition: Self.start(layout, design), options: options, sink: sink)
            // The integrated-out effects, drawn exactly for a few of the draws.
            let random = RandomStream(seed: 5, chain: 1)
            for position in sink.positions.suffix(5) {
                let noise = (0..<target.drawNoiseCount).map { _ in random.standardNormal() }
                let result = target.drawIntegratedEffects(at: position, noise: noise)
                let drawn = try #require(result)
                #expect(drawn.randomEffects.flatMap { $0 }.allSatisfy(\.isFinite) && drawn.beta.allSatisfy(\.isFinite))
            }
        }
        #expect(sink.positions.count == 100)
        #expect(summary.samplingIterationsDone == 100)
        #expect(sink.positions.allSatisfy { $0.allSatisfy(\.isFinite) })
        let sigmas = sink.positions.map { layout.constrain($0).sigma! }
        let meanSigma = sigmas.reduce(0, +) / Double(sigmas.count)
        // Dyestuff's REML σ̂ is 49.5; a short chain's mean is in the same range.
        #expect(meanSigma > 25 && meanSigma < 100, "posterior mean of sigma \(meanSigma)")
        print("NUTS \(form): mean sigma \(meanSigma), step size \(sink.adaptation?.stepSize ?? .nan), divergences \(summary.divergentSamplingIterations)")
    }

    static func start(_ layout: PosteriorLayout, _ design: Design) -> [Double] {
        var x = [Double](repeating: 0, count: layout.dimension)
        let y = design.response
        let mean = y.reduce(0, +) / Double(y.count)
        for index in layout.betaRange { x[index] = mean }
        x[layout.logSigmaIndex!] = log(50)
        for range in layout.logTauRanges { for index in range { x[index] = log(40) } }
        return x
    }
}
