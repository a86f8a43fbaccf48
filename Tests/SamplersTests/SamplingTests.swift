import Foundation
import Linalg
import Testing
import TestSupport
@testable import Samplers

func run<Target: LogDensity>(_ target: Target, from initial: [Double], warmup: Int = 1000, draws: Int = 1000,
                             seed: UInt64, chain: Int = 1,
                             configure: (inout NUTSOptions) -> Void = { _ in }) throws -> (DrawCollector, ChainSummary) {
    var options = ChainOptions()
    options.warmup = warmup
    options.draws = draws
    options.seed = seed
    options.chain = chain
    configure(&options.nuts)
    let sink = DrawCollector()
    let summary = try runChain(target: target, initialPosition: initial, options: options, sink: sink)
    return (sink, summary)
}

/// |estimate - truth| < 4 MCSE, with MCSE = sd / √ESS from the draws.
func expectMean(_ draws: [Double], equals truth: Double, sourceLocation: SourceLocation = #_sourceLocation) {
    let estimate = MonteCarlo.mean(draws)
    let mcse = MonteCarlo.standardErrorOfMean(draws)
    #expect(abs(estimate - truth) < 4 * mcse, "mean \(estimate) vs \(truth), MCSE \(mcse)",
            sourceLocation: sourceLocation)
}

/// The variance is the mean of (x - μ)² for known μ: checked the same way on the squared
/// deviations, whose own ESS accounts for their autocorrelation.
func expectVariance(_ draws: [Double], mean: Double, equals truth: Double,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    expectMean(draws.map { ($0 - mean) * ($0 - mean) }, equals: truth, sourceLocation: sourceLocation)
}

@Suite struct SamplingTests {
    /// 100-dimensional standard normal: means 0, variances 1, and Stan's typical adaptation
    /// (ε about 0.3, tree depth 3-4, accept_stat near δ = 0.8).
    @Test func standardNormal100() throws {
        let n = 100
        let initial = (0..<n).map { 1.5 * sin(Double($0)) }
        let (sink, summary) = try run(StandardNormal(dimension: n), from: initial, seed: 1234)
        let adaptation = try #require(summary.adaptation)
        print("100-d normal: step size \(adaptation.stepSize), mean treedepth",
              MonteCarlo.mean(sink.draws.map { Double($0.statistics.treeDepth) }),
              "mean n_leapfrog", MonteCarlo.mean(sink.draws.map { Double($0.statistics.leapfrogSteps) }),
              "mean accept", MonteCarlo.mean(sink.draws.map { $0.statistics.acceptStat }),
              "min ESS", (0..<n).map { MonteCarlo.effectiveSampleSize(sink.coordinate($0)) }.min()!)
        for i in 0..<n {
            expectMean(sink.coordinate(i), equals: 0)
            expectVariance(sink.coordinate(i), mean: 0, equals: 1)
        }
        #expect(adaptation.stepSize > 0.15 && adaptation.stepSize < 0.6)
        let depths = sink.draws.map { $0.statistics.treeDepth }
        #expect(depths.allSatisfy { (2...5).contains($0) })
        #expect(summary.divergentSamplingIterations == 0)
        let accept = MonteCarlo.mean(sink.draws.map { $0.statistics.acceptStat })
        #expect(abs(accept - 0.8) < 0.1)
    }

    /// Unit-variance bivariate normal with ρ = 0.9 under a dense metric. The adapted inverse
    /// metric is the regularized sample covariance of the last warmup window (500 draws); a
    /// sample covariance of n independent draws has sd(Σ̂ᵢⱼ) = √((σᵢᵢσⱼⱼ + σᵢⱼ²)/n), and the
    /// window's draws are autocorrelated, so n is taken as 500 × ESS/N of the second-moment
    /// products measured on the sampling draws (same metric, same mixing). Each element must be
    /// within 4 such sd (plus the shrinkage bias 5/505). The draws must recover means,
    /// variances and the correlation.
    @Test func correlatedGaussianDenseMetricRecoversCovariance() throws {
        let rho = 0.9
        let (sink, summary) = try run(CorrelatedGaussian(rho: rho), from: [2, -1], seed: 77) {
            $0.metricKind = .dense
        }
        let adaptation = try #require(summary.adaptation)
        guard case .dense(let inverse) = adaptation.metric.inverseMass else {
            Issue.record("expected a dense metric"); return
        }
        print("2-d correlated: inverse metric \(inverse.storage), step size \(adaptation.stepSize)")
        let x = sink.coordinate(0), y = sink.coordinate(1)
        let products = [x.map { $0 * $0 }, y.map { $0 * $0 }, zip(x, y).map { $0 * $1 }]
        let essFraction = products.map { MonteCarlo.effectiveSampleSize($0) / Double(x.count) }.min()!
        let window = 500 * min(1, essFraction)
        let truth = Matrix([[1, rho], [rho, 1]])
        for i in 0..<2 {
            for j in 0..<2 {
                let sd = ((truth[i, i] * truth[j, j] + truth[i, j] * truth[i, j]) / window).squareRoot()
                #expect(abs(inverse[i, j] - truth[i, j]) < 4 * sd + (5.0 / 505) * abs(truth[i, j]),
                        "M⁻¹[\(i),\(j)] = \(inverse[i, j]), effective window \(window)")
            }
        }
        expectMean(x, equals: 0)
        expectMean(y, equals: 0)
        expectVariance(x, mean: 0, equals: 1)
        expectVariance(y, mean: 0, equals: 1)
        expectMean(zip(x, y).map { $0 * $1 }, equals: rho)
        #expect(summary.divergentSamplingIterations == 0)
        // With the covariance as metric the target is isotropic: short trajectories suffice.
        #expect(MonteCarlo.mean(sink.draws.map { Double($0.statistics.treeDepth) }) < 3)
    }

    /// Neal's funnel, centered: the neck defeats any single step size, so NUTS reports
    /// divergences (the point of the diagnostic). A chain diverges only while it is in the
    /// neck, which a 500-draw chain visits rarely: over six seeds of 1000 draws this sampler
    /// reported 0-24 divergences per chain (0-2.4%). So four chains run, and the run as a whole
    /// must report divergences, each flagged on its draw.
    @Test func centeredFunnelReportsDivergences() throws {
        var counts: [Int] = []
        for chain in 1...4 {
            let (sink, summary) = try run(CenteredFunnel(), from: [Double](repeating: 0.5, count: 10),
                                          warmup: 500, draws: 500, seed: 2024, chain: chain)
            #expect(sink.draws.filter { $0.statistics.divergent }.count == summary.divergentSamplingIterations)
            counts.append(summary.divergentSamplingIterations)
        }
        print("centered funnel: divergences per chain of 500 draws \(counts)")
        #expect(counts.reduce(0, +) > 0)
    }

    /// The same funnel, non-centered: a standard normal to the sampler; no divergences, and
    /// v = 3 v_raw has mean 0 and variance 9.
    @Test func nonCenteredFunnelHasNoDivergencesAndRightMoments() throws {
        let (sink, summary) = try run(NonCenteredFunnel(dimension: 10), from: [Double](repeating: 0.5, count: 10),
                                      warmup: 500, draws: 1000, seed: 2024)
        print("non-centered funnel: divergences \(summary.divergentSamplingIterations)")
        #expect(summary.divergentSamplingIterations == 0)
        let v = sink.coordinate(0).map { 3 * $0 }
        expectMean(v, equals: 0)
        expectVariance(v, mean: 0, equals: 9)
    }

    /// Same seed and chain: bit-identical draws and statistics; another chain id: different.
    @Test func sameSeedGivesBitIdenticalDraws() throws {
        let (a, _) = try run(CorrelatedGaussian(rho: 0.5), from: [1, 1], warmup: 150, draws: 100, seed: 99) {
            $0.metricKind = .dense
        }
        let (b, _) = try run(CorrelatedGaussian(rho: 0.5), from: [1, 1], warmup: 150, draws: 100, seed: 99) {
            $0.metricKind = .dense
        }
        let (c, _) = try run(CorrelatedGaussian(rho: 0.5), from: [1, 1], warmup: 150, draws: 100, seed: 99, chain: 2) {
            $0.metricKind = .dense
        }
        #expect(a.draws.map(\.position) == b.draws.map(\.position))
        #expect(a.draws.map(\.statistics) == b.draws.map(\.statistics))
        #expect(a.adaptation == b.adaptation)
        #expect(a.draws.map(\.position) != c.draws.map(\.position))
    }

    /// shouldStop ends the run where it is; what was delivered stays.
    @Test func cancellationKeepsWhatWasDrawn() throws {
        var options = ChainOptions()
        options.warmup = 50
        options.draws = 100
        var polls = 0
        let sink = DrawCollector()
        let summary = try runChain(target: StandardNormal(dimension: 2), initialPosition: [0, 0], options: options,
                                   sink: sink, shouldStop: { polls += 1; return polls > 80 })
        #expect(summary.stopped)
        #expect(summary.warmupIterationsDone == 50)
        #expect(summary.samplingIterationsDone == 30)
        #expect(sink.draws.count == 30)
        #expect(sink.draws.map(\.iteration) == Array(51...80))
    }

    /// Thinning keeps iterations 0, thin, 2·thin, … of each phase; saveWarmup delivers warmup.
    @Test func thinningAndSavedWarmup() throws {
        var options = ChainOptions()
        options.warmup = 30
        options.draws = 20
        options.thin = 3
        options.saveWarmup = true
        let sink = DrawCollector()
        let summary = try runChain(target: StandardNormal(dimension: 2), initialPosition: [0, 0], options: options, sink: sink)
        #expect(sink.draws.filter(\.isWarmup).map(\.iteration) == Array(stride(from: 1, through: 30, by: 3)))
        #expect(sink.draws.filter { !$0.isWarmup }.map(\.iteration) == Array(stride(from: 31, through: 50, by: 3)))
        #expect(summary.drawsDelivered == sink.draws.count)
    }
}
