import Foundation
import ModelSpec
import Samplers
import Testing
import TestSupport

private func design(_ formula: String = "Reaction ~ Days + (Days | Subject)") throws -> Design {
    let data = try DataTable.read(path: Fixtures.url("data/sleepstudy.csv").path, categorical: ["Subject"])
    return try Design.build(data: data, formula: Formula.parse(formula))
}

/// Collects rows in memory.
private final class MemorySink: GibbsDrawSink {
    var rows: [[Double]] = []
    var lastIteration = 0
    func receive(_ row: [Double]) throws { rows.append(row) }
    func iterationFinished(_ iteration: Int) { lastIteration = iteration }
}

@Suite struct GibbsChainRunnerTests {
    static let priors = GibbsPriors(fixedMeans: [250, 0], fixedSDs: [100, 20], sigmaScale: 50,
                                    tauScales: [[50, 10]], lkjEta: [2])

    /// lp__ against a dense computation from the data rows: Gaussian log likelihood of the
    /// residuals y − Xβ − Zb, the bivariate normal density of each subject's b, and the priors
    /// written out by hand (LKJ(2) for K = 2 is (1 − r²)^{η−1} / (2^{2η−1} B(η, η)) = 3/4 (1 − r²)).
    @Test func logJointDensityMatchesDenseComputation() throws {
        let design = try design()
        var sampler = try GibbsSampler(design: design, priors: Self.priors)
        let (s1, s2, r) = (23.0, 6.5, 0.3)
        let covariance = [s1 * s1, r * s1 * s2, r * s1 * s2, s2 * s2]
        try sampler.setVarianceParameters(sigma: 27, covariances: [covariance])
        sampler.holdsVarianceParametersFixed = true
        var random = RandomStream(seed: 7, chain: 1)
        try sampler.sweep(random: &random)

        let term = design.terms[0]
        let b = sampler.randomEffects[0]
        var ssr = 0.0
        for i in 0..<design.observationCount {
            var fitted = design.offset[i]
            for c in 0..<design.fixedCount { fitted += design.fixed.matrix[i, c] * sampler.beta[c] }
            let h = Int(term.groupCodes[i])
            for c in 0..<2 { fitted += term.modelRows[i, c] * b[h * 2 + c] }
            ssr += (design.response[i] - fitted) * (design.response[i] - fitted)
        }
        let n = Double(design.observationCount)
        let sigma = 27.0
        var expected = -n / 2 * log(2 * .pi) - n * log(sigma) - ssr / (2 * sigma * sigma)
        let determinant = covariance[0] * covariance[3] - covariance[1] * covariance[2]
        for h in 0..<term.levelCount {
            let (u, v) = (b[2 * h], b[2 * h + 1])
            let quadratic = (covariance[3] * u * u - 2 * covariance[1] * u * v + covariance[0] * v * v) / determinant
            expected += -log(2 * .pi) - 0.5 * log(determinant) - 0.5 * quadratic
        }
        func normal(_ x: Double, _ m: Double, _ s: Double) -> Double { -0.5 * log(2 * .pi) - log(s) - 0.5 * pow((x - m) / s, 2) }
        func halfCauchy(_ x: Double, _ a: Double) -> Double { log(2 / (.pi * a * (1 + (x / a) * (x / a)))) }
        expected += normal(sampler.beta[0], 250, 100) + normal(sampler.beta[1], 0, 20)
        expected += halfCauchy(sigma, 50) + halfCauchy(s1, 50) + halfCauchy(s2, 10)
        expected += log(0.75 * (1 - r * r))

        let lp = sampler.logJointDensity()
        #expect(abs(lp - expected) < 1e-9 * abs(expected), "lp \(lp) vs dense \(expected)")
    }

    @Test func columnsOfSleepstudy() throws {
        let columns = OutputColumns(design: try design())
        let levels = ["308", "309", "310", "330", "331", "332", "333", "334", "335", "337", "349", "350", "351", "352", "369", "370", "371", "372"]
        #expect(Array(columns.names.prefix(7)) == ["lp__", "b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept",
                                                  "sd_Subject__Days", "cor_Subject__Intercept__Days"])
        let expectedR = (1...2).flatMap { c in (1...18).map { h in "r_Subject.\(h).\(c)" } }
        #expect(Array(columns.names.dropFirst(7)) == expectedR)
        #expect(columns.groupLevelStart == 7)
        #expect(columns.labels[7 + 18] == .groupLevel(group: "Subject", level: "308", coefficient: "Days"))
        #expect(columns.labels[7 + 17] == .groupLevel(group: "Subject", level: levels[17], coefficient: "(Intercept)"))

        // The row puts b[h * k + c] at r_Subject.(h+1).(c+1), SDs and the correlation from Σ.
        let b = (0..<36).map { Double($0) }
        let row = columns.row(logDensity: -1, beta: [2, 3], sigma: 4, covariances: [[9, 3, 3, 4]], randomEffects: [b])
        #expect(Array(row.prefix(7)) == [-1, 2, 3, 4, 3, 2, 0.5])
        #expect(row[columns.names.firstIndex(of: "r_Subject.5.2")!] == b[4 * 2 + 1])
        #expect(row[columns.names.firstIndex(of: "r_Subject.18.1")!] == b[17 * 2])
    }

    @Test func sharedGroupingFactorIsOneGroupAndNamesAreCSVSafe() throws {
        let columns = OutputColumns(design: try design("Reaction ~ Days + (Days || Subject)"))
        #expect(columns.groups.count == 1)
        #expect(columns.groups[0].coefficients == ["(Intercept)", "Days"])
        #expect(columns.names.contains("r_Subject.18.2"))
        #expect(Set(columns.names).count == columns.names.count)
        #expect(OutputColumns.safeName("(Intercept)") == "Intercept")
        #expect(OutputColumns.safeName("Days:service1") == "Days_service1")
        #expect(OutputColumns.safeName("batch:cask") == "batch_cask")
        #expect(OutputColumns.safeName("log(x), \"y\".z") == "log_x____y__z")
    }

    @Test func thinningStoppingAndReproducibility() throws {
        let sampler = try GibbsSampler(design: try design(), priors: Self.priors)
        let columns = OutputColumns(design: sampler.design)
        let options = GibbsChainOptions(warmup: 5, draws: 10, thin: 3, seed: 11, chain: 2)
        let first = MemorySink()
        let summary = try runGibbsChain(sampler: sampler, columns: columns, options: options, sink: first)
        #expect(first.rows.count == 4 && summary.drawsKept == 4 && options.keptDraws == 4)
        #expect(summary.samplingIterationsDone == 10 && summary.warmupIterationsDone == 5 && !summary.stopped)
        #expect(first.lastIteration == 15)
        #expect(first.rows.allSatisfy { $0.count == columns.names.count && $0.allSatisfy(\.isFinite) })

        let again = MemorySink()
        _ = try runGibbsChain(sampler: sampler, columns: columns, options: options, sink: again)
        #expect(again.rows == first.rows)

        var otherChain = options
        otherChain.chain = 3
        let other = MemorySink()
        _ = try runGibbsChain(sampler: sampler, columns: columns, options: otherChain, sink: other)
        #expect(other.rows[0] != first.rows[0])

        // Stop before iteration 9: 5 warmup + 3 sampling iterations done; only the first is kept (thin 3).
        var polls = 0
        let stopped = MemorySink()
        let partial = try runGibbsChain(sampler: sampler, columns: columns, options: options, sink: stopped,
                                        shouldStop: { polls += 1; return polls > 8 })
        #expect(partial.stopped && partial.warmupIterationsDone == 5 && partial.samplingIterationsDone == 3)
        #expect(stopped.rows == Array(first.rows.prefix(1)))
    }
}
