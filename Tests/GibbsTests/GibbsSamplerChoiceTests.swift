import Foundation
import Linalg
import ModelSpec
@testable import Samplers
import Testing
import TestSupport

/// `y ~ 1 + x + (1 | g) + (1 | h)` on `rows` rows whose g and h levels are drawn uniformly from
/// `gLevels` and `hLevels` (as scripts/make_large_csv.py draws them), with a fixed stream.
private func crossedDesign(rows: Int, gLevels: Int, hLevels: Int) throws -> Design {
    let random = RandomStream(seed: 14, chain: 1)
    var text = "y,x,g,h\n"
    text.reserveCapacity(rows * 24)
    for _ in 0..<rows {
        let g = min(Int(random.uniform() * Double(gLevels)), gLevels - 1)
        let h = min(Int(random.uniform() * Double(hLevels)), hLevels - 1)
        let x = 4 * random.uniform() - 2
        text += "\(1 + 0.5 * x + random.standardNormal()),\(x),\(g),\(h)\n"
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-choice-\(UUID().uuidString).csv")
    try text.write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let data = try DataTable.read(path: url.path, categorical: ["g", "h"])
    return try Design.build(data: data, formula: Formula.parse("y ~ 1 + x + (1 | g) + (1 | h)"))
}

/// `--algorithm auto`'s choice on the five designs whose two samplers were measured
/// (docs/benchmarks.md, "Which Gibbs sampler: measured at both ends"), on the design that is over
/// the blocked factor's budget, and the cost model's ingredients.
@Suite struct GibbsSamplerChoiceTests {
    /// Collapsed won the measurements: InstEval (three scalar terms, a dense part of order 1,159)
    /// and sim_crossed (30,000 rows, 200 x 150 crossed levels).
    @Test(arguments: ["insteval", "sim_crossed"])
    func collapsedOnTheLargeCrossedDesigns(_ name: String) throws {
        let choice = GibbsSamplerChoice(design: try Fixtures.modelDesign(name))
        #expect(choice.sampler == .collapsed, "\(name): \(choice.reason)")
        #expect(choice.reason.hasPrefix("every term is scalar and a collapsed sweep reads the"))
    }

    /// The blocked sampler is the only one for vector terms (sleepstudy's `(Days | Subject)`,
    /// sim_medium's `(1 + x | g)`), and it is chosen saying so.
    @Test(arguments: ["sleepstudy", "sim_medium"])
    func blockedForVectorTerms(_ name: String) throws {
        let choice = GibbsSamplerChoice(design: try Fixtures.modelDesign(name))
        #expect(choice.sampler == .blocked)
        #expect(choice.reason == "a random-effects term has more than one coefficient, which only the blocked sampler handles")
    }

    /// Few levels and many rows (measured at 10^7 rows, 1000 x 50 levels): a blocked sweep
    /// factorizes a dense part of order 53 while a collapsed one reads every row. The design is
    /// built at 200,000 rows, where every pair of levels already meets (the factor's pattern is
    /// the one of 10^7 rows), and priced at both row counts.
    @Test func blockedOnManyRowsWithFewLevels() throws {
        let design = try crossedDesign(rows: 200_000, gLevels: 1000, hLevels: 50)
        #expect(design.crossProducts.layout.denseDimension == 50 + 2 + 1)
        let built = GibbsSamplerChoice(design: design)
        #expect(built.sampler == .blocked, "\(built.reason)")
        var shape = GibbsSamplerChoice.Shape(design: design)
        shape.rows = 10_000_000
        let large = GibbsSamplerChoice(shape: shape)
        #expect(large.sampler == .blocked, "\(large.reason)")
        #expect(large.reason.hasPrefix("a collapsed sweep reads the 10000000 rows once"), "\(large.reason)")
    }

    /// Two crossed factors with more levels than the dense budget allows (4,000 in the second:
    /// a dense part of order 4,003, 2.1e10 operations a factorization): collapsed, the reason
    /// naming the budget; the blocked sampler refuses the design before allocating its factor,
    /// naming collapsed Gibbs.
    @Test func collapsedWhenTheBlockedFactorIsOverBudget() throws {
        let design = try crossedDesign(rows: 48_000, gLevels: 8000, hLevels: 4000)
        #expect(BlockedFactorBudget.standard.excess(design.crossProducts.layout) != nil)
        let choice = GibbsSamplerChoice(design: design)
        #expect(choice.sampler == .collapsed)
        #expect(choice.reason.hasPrefix("every term is scalar and the blocked sampler cannot run it: its blocked Cholesky factor would have a dense part of 4003 x 4003"),
                "\(choice.reason)")
        let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [10, 10], sigmaScale: 3, tauScales: [[3], [3]], lkjEta: [1, 1])
        #expect {
            _ = try GibbsSampler(design: design, priors: priors)
        } throws: { error in
            "\(error)".contains("use --algorithm collapsed-gibbs")
        }
        _ = try CollapsedCrossedGibbs(design: design, priors: priors)
    }

    /// What a refusal over the budget names instead: collapsed Gibbs for Gaussian scalar terms,
    /// the uncorrelated form for a vector term, nothing for a binomial model.
    @Test func whatRunsADesignOverTheBudget() throws {
        #expect(GibbsError.insteadOfTheBlockedFactor(try Fixtures.modelDesign("sim_crossed")).hasPrefix("use --algorithm collapsed-gibbs"))
        #expect(GibbsError.insteadOfTheBlockedFactor(try Fixtures.modelDesign("sleepstudy")).contains("(x || g)"))
        let cbpp = try DataTable.read(path: Fixtures.repositoryRoot.appendingPathComponent("models/cbpp/data.csv").path,
                                      categorical: ["herd", "period"])
        let binomial = try Design.build(data: cbpp, formula: Formula.parse("cbind(incidence, size - incidence) ~ period + (1 | herd)"),
                                        family: Family(.binomial))
        #expect(GibbsError.insteadOfTheBlockedFactor(binomial).hasPrefix("no sampler of mixmc runs a binomial"))
    }

    /// The cost model's two sides move the way the samplers' costs do: the blocked sweep with
    /// the dense order's cube and flat in the rows, the collapsed sweep linear in the rows and
    /// once per large term.
    @Test func costsScaleAsTheSweepsDo() throws {
        let design = try crossedDesign(rows: 20_000, gLevels: 200, hLevels: 150)
        var shape = GibbsSamplerChoice.Shape(design: design)
        let blocked = GibbsSamplerChoice.blockedSeconds(shape)
        let collapsed = GibbsSamplerChoice.collapsedCost(shape)
        #expect(collapsed.passes == 2)
        shape.rows *= 10
        #expect(GibbsSamplerChoice.blockedSeconds(shape) == blocked)
        let tenfold = GibbsSamplerChoice.collapsedCost(shape).seconds
        #expect(tenfold > 5 * collapsed.seconds && tenfold < 10 * collapsed.seconds)
        // h's 150 levels over the 64-level budget: both terms large; with 50 levels h joins β.
        #expect(GibbsSamplerChoice.collapsedCost(.init(rows: 20_000, levelCounts: [200, 50], termSizes: [1, 1], fixedCount: 2,
                                                       layout: shape.layout)).passes == 1)
    }
}
