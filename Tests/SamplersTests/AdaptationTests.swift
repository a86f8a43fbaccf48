import Foundation
import Linalg
import Testing
@testable import Samplers

@Suite struct WindowedAdaptationTests {
    /// Stan's default schedule for 1000 warmup iterations: 75 buffer, windows of 25, 50, 100,
    /// 200 and a last one stretched from 500 to 50 before the end.
    @Test func defaultScheduleForWarmup1000() {
        #expect(WindowedAdaptation.windowEndIterations(warmup: 1000) == [100, 150, 250, 450, 950])
    }

    @Test func scheduleThatExactlyFits() {
        #expect(WindowedAdaptation.windowEndIterations(warmup: 150) == [100])
        #expect(WindowedAdaptation.windowEndIterations(warmup: 2000) == [100, 150, 250, 450, 850, 1950])
    }

    /// Too short for 75 + 25 + 50: 15% / 75% / 10%, i.e. one window over iterations 16…90.
    @Test func shortWarmupFallsBackToProportionalStages() {
        let schedule = WindowedAdaptation(warmup: 100)
        #expect(schedule.initBuffer == 15)
        #expect(schedule.baseWindow == 75)
        #expect(schedule.termBuffer == 10)
        #expect(WindowedAdaptation.windowEndIterations(warmup: 100) == [90])
    }

    @Test func underTwentyIterationsNoMetricAdaptation() {
        #expect(WindowedAdaptation.windowEndIterations(warmup: 10) == [])
        #expect(WindowedAdaptation.windowEndIterations(warmup: 19) == [])
        var schedule = WindowedAdaptation(warmup: 10)
        for _ in 0..<10 {
            #expect(!schedule.inAdaptationWindow)
            schedule.advance()
        }
    }

    /// Stan's var_adaptation unit test: a window of identical draws gives the pure shrinkage
    /// term 10⁻³ · 5/(n + 5).
    @Test func constantDrawsGiveTheShrinkageTerm() {
        var adaptation = MetricAdaptation(kind: .diagonal, dimension: 3,
                                          schedule: WindowedAdaptation(warmup: 30, initBuffer: 0, termBuffer: 0, baseWindow: 10))
        for _ in 0..<9 { #expect(adaptation.learn(position: [0, 0, 0]) == nil) }
        let metric = adaptation.learn(position: [0, 0, 0])
        #expect(metric?.inverseMassDiagonal == [Double](repeating: 1e-3 * 5 / 15, count: 3))
    }

    /// Draws k = 0…9 in one coordinate and 2k in another: S = 55/6 and 4 · 55/6 with
    /// covariance 2 · 55/6; regularized as n/(n+5) S + 10⁻³ 5/(n+5) I.
    @Test(arguments: MetricKind.allCases)
    func regularizedSampleCovariance(kind: MetricKind) throws {
        var adaptation = MetricAdaptation(kind: kind, dimension: 2,
                                          schedule: WindowedAdaptation(warmup: 30, initBuffer: 0, termBuffer: 0, baseWindow: 10))
        var metric: EuclideanMetric?
        for k in 0..<10 { metric = adaptation.learn(position: [Double(k), 2 * Double(k)]) }
        let s = 55.0 / 6
        let shrink = 10.0 / 15, ridge = 1e-3 * 5 / 15
        let m = try #require(metric)
        switch m.inverseMass {
        case .diagonal(let d):
            #expect(abs(d[0] - (shrink * s + ridge)) < 1e-13)
            #expect(abs(d[1] - (shrink * 4 * s + ridge)) < 1e-13)
        case .dense(let c):
            #expect(abs(c[0, 0] - (shrink * s + ridge)) < 1e-13)
            #expect(abs(c[1, 1] - (shrink * 4 * s + ridge)) < 1e-13)
            #expect(abs(c[0, 1] - shrink * 2 * s) < 1e-13)
            #expect(abs(c[1, 0] - shrink * 2 * s) < 1e-13)
        }
    }
}

@Suite struct DualAveragingTests {
    /// Two updates by hand from Hoffman & Gelman's recursion with δ = 0.8, γ = 0.05, κ = 0.75,
    /// t₀ = 10, μ = log 10.
    @Test func followsTheRecursion() {
        var averaging = DualAveraging()
        let mu = log(10.0)
        let s1 = (1 / 11.0) * (0.8 - 0.5)
        let x1 = mu - s1 * 1 / 0.05
        #expect(abs(averaging.learn(acceptStat: 0.5) - exp(x1)) < 1e-12 * exp(x1))
        // x̄₁ = x₁ since 1^{-κ} = 1.
        #expect(abs(averaging.finalStepSize - exp(x1)) < 1e-12 * exp(x1))
        // The statistic is clipped at 1.
        let s2 = (1 - 1 / 12.0) * s1 + (1 / 12.0) * (0.8 - 1.0)
        let x2 = mu - s2 * 2.0.squareRoot() / 0.05
        let weight = pow(2.0, -0.75)
        let xBar2 = (1 - weight) * x1 + weight * x2
        #expect(abs(averaging.learn(acceptStat: 1.7) - exp(x2)) < 1e-12 * exp(x2))
        #expect(abs(averaging.finalStepSize - exp(xBar2)) < 1e-12 * exp(xBar2))
    }

    /// Acceptance statistics that stay at δ leave s̄ at 0, so ε settles at exp(μ).
    @Test func statisticAtTargetConvergesToMu() {
        var averaging = DualAveraging(mu: log(0.3))
        for _ in 0..<200 { _ = averaging.learn(acceptStat: 0.8) }
        #expect(abs(averaging.finalStepSize - 0.3) < 1e-12)
    }
}

@Suite struct WarmupEdgeCaseTests {
    @Test(arguments: [0, 1, 10, 19, 20, 60])
    func shortWarmupsRunAndSample(warmup: Int) throws {
        var options = ChainOptions()
        options.warmup = warmup
        options.draws = 20
        options.seed = 9
        let sink = DrawCollector()
        let summary = try runChain(target: StandardNormal(dimension: 3), initialPosition: [0.5, -0.5, 1],
                                   options: options, sink: sink)
        #expect(summary.warmupIterationsDone == warmup)
        #expect(sink.draws.count == 20)
        let adaptation = try #require(sink.adaptation)
        #expect(adaptation.stepSize.isFinite && adaptation.stepSize > 0)
        #expect(adaptation.metric.inverseMassDiagonal.allSatisfy { $0.isFinite && $0 > 0 })
        if warmup < 20 { #expect(adaptation.metric.inverseMassDiagonal == [1, 1, 1]) }
    }

    /// A zero terminal buffer ends warmup right after a metric update; the step size must come
    /// from the heuristic on the new metric, not collapse to exp(0) = 1 (stan-dev/stan#3023).
    @Test func zeroTerminalBufferKeepsAHeuristicStepSize() throws {
        var options = ChainOptions()
        options.warmup = 100
        options.draws = 10
        options.nuts.initBuffer = 25
        options.nuts.baseWindow = 75
        options.nuts.termBuffer = 0
        let sink = DrawCollector()
        _ = try runChain(target: StandardNormal(dimension: 100), initialPosition: [Double](repeating: 0.1, count: 100),
                         options: options, sink: sink)
        let stepSize = try #require(sink.adaptation?.stepSize)
        // Stan would report exactly exp(0) = 1 here.
        #expect(stepSize != 1)
    }
}
