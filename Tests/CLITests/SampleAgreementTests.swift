import ChainIO
import Diagnostics
import Foundation
import Testing
import TestSupport

/// Issue 4's agreement check: on sleepstudy `Reaction ~ Days + (Days | Subject)` with
/// models/sleepstudy/priors.toml, the Gibbs sampler, NUTS on the collapsed log-posterior and NUTS
/// on the full one sample the same posterior: every posterior mean of β, σ, τ, the correlation and
/// every random effect agrees between each pair within 4 combined Monte Carlo standard errors,
/// √(MCSE₁² + MCSE₂²), each MCSE from `Diagnostics.mcseMean` of its own run.
///
/// Three independent computations meet here: Gibbs's conjugate conditionals on the natural scale,
/// the collapsed log-density's analytic integral with exact draws of b, and the full non-centered
/// log-density. The quick tier (always on, ~20 s in a debug build) runs 2 chains per algorithm;
/// `MIXMC_LONG_AGREEMENT=1` runs 4 chains of 2000 draws (MCSEs about 2.5x smaller, ~2.5 min in debug).
@Suite struct SampleAgreementTests {
    static let long = ProcessInfo.processInfo.environment["MIXMC_LONG_AGREEMENT"] == "1"

    struct Run {
        let name: String
        let means: [String: Double]
        let mcse: [String: Double]
    }

    static func run(_ name: String, _ flags: [String], warmup: Int, draws: Int, seed: Int) throws -> Run {
        let output = try SampleCommandTests.temporaryDirectory("agree")
        defer { try? FileManager.default.removeItem(at: output) }
        let chains = long ? 4 : 2
        let result = try runMixmc(["sample", "models/sleepstudy", "--quiet", "--output", output.path, "--chains", String(chains),
                                   "--warmup", String(long ? 1000 : warmup), "--draws", String(long ? 2000 : draws),
                                   "--seed", String(seed)] + flags)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let files = try (1...chains).map { try StanCSVReader.read(url: output.appendingPathComponent("chain-\($0).csv")) }
        var means: [String: Double] = [:]
        var mcse: [String: Double] = [:]
        for name in files[0].columnNames where !name.hasSuffix("__") {
            let perChain = files.map { $0.column(name)! }
            means[name] = Diagnostics.mean(perChain.flatMap { $0 })
            mcse[name] = Diagnostics.mcseMean(perChain)
        }
        return Run(name: name, means: means, mcse: mcse)
    }

    @Test func gibbsAndNUTSOnBothTargetsAgreeWithinFourCombinedMCSE() throws {
        let runs = [
            try Self.run("gibbs", ["--algorithm", "gibbs"], warmup: 200, draws: 1500, seed: 11),
            try Self.run("nuts collapsed", ["--algorithm", "nuts", "--target", "collapsed"], warmup: 300, draws: 500, seed: 12),
            try Self.run("nuts full", ["--algorithm", "nuts", "--target", "full"], warmup: 300, draws: 500, seed: 13),
        ]
        let names = ["b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept", "sd_Subject__Days", "cor_Subject__Intercept__Days"]
            + (1...2).flatMap { c in (1...18).map { h in "r_Subject.\(h).\(c)" } }
        var worst = (ratio: 0.0, detail: "")
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            for name in names {
                let first = runs[a], second = runs[b]
                let difference = try #require(first.means[name]) - #require(second.means[name])
                let combined = try (#require(first.mcse[name]).squared + #require(second.mcse[name]).squared).squareRoot()
                let ratio = abs(difference) / combined
                #expect(ratio < 4, "\(name): \(first.name) \(first.means[name]!) vs \(second.name) \(second.means[name]!), difference \(difference), combined MCSE \(combined)")
                if ratio > worst.ratio { worst = (ratio, "\(name) \(first.name) vs \(second.name)") }
            }
        }
        print("agreement (\(Self.long ? "long" : "quick") tier): largest |difference| / combined MCSE = \(worst.ratio) (\(worst.detail))")
    }
}

extension Double {
    fileprivate var squared: Double { self * self }
}
