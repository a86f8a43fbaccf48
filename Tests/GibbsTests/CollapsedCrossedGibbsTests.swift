import Diagnostics
import Foundation
import ModelSpec
@testable import Samplers
import Testing
import TestSupport

/// A 12 x 10 corner of models/sim_crossed (levels a < 12, b < 10: 120 rows, one per cell).
private func crossedSubset(_ formula: String) throws -> Design {
    let lines = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("models/sim_crossed/data.csv"), encoding: .utf8)
        .split(separator: "\n")
    let kept = lines.dropFirst().filter { line in
        let fields = line.split(separator: ",")
        return Int(fields[2])! < 12 && Int(fields[3])! < 10
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-crossed-subset-\(UUID().uuidString).csv")
    try ([String(lines[0])] + kept.map(String.init)).joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let data = try DataTable.read(path: url.path, categorical: ["a", "b"])
    return try Design.build(data: data, formula: Formula.parse(formula))
}

/// The draws of β, σ and each τ_j, per parameter per chain.
private func draws(_ sampler: some GibbsChainSampler, chains: Int, warmup: Int, draws: Int, seed: UInt64) throws -> [[[Double]]] {
    var result: [[[Double]]] = []
    for chain in 1...chains {
        var sampler = sampler
        var random = RandomStream(seed: seed, chain: chain)
        var kept: [[Double]] = []
        for _ in 0..<warmup { try sampler.sweep(random: &random) }
        for _ in 0..<draws {
            try sampler.sweep(random: &random)
            kept.append(sampler.beta + [sampler.sigma] + sampler.covariances.map { $0[0].squareRoot() })
        }
        result.append(kept)
    }
    // Parameter-major: result[parameter][chain][draw].
    return (0..<result[0][0].count).map { p in result.map { chain in chain.map { $0[p] } } }
}

/// InstEval's structure in small (models/insteval): instructors nested in departments, each
/// row's course a service course or not, students crossed with instructors, and a
/// department-by-service term confounded with the instructors (the mean of a department's
/// instructors and its dept:service effects move against each other). 4 departments x 18
/// instructors, 90 students rating 10 instructors each (900 rows), simulated from
/// β = (3.2, −0.1), τ_s = 0.3, τ_d = 0.5, τ_dept:service = 0.15, σ = 1 with a fixed stream.
private func nestedDesign() throws -> Design {
    let random = RandomStream(seed: 2020, chain: 1)
    let (departments, perDepartment, students, ratings) = (4, 18, 90, 10)
    let instructors = departments * perDepartment
    let student = (0..<students).map { _ in 0.3 * random.standardNormal() }
    let instructor = (0..<instructors).map { _ in 0.5 * random.standardNormal() }
    let departmentService = (0..<(2 * departments)).map { _ in 0.15 * random.standardNormal() }
    var lines = ["s,d,dept,service,y"]
    for s in 0..<students {
        var rated = Set<Int>()
        while rated.count < ratings { rated.insert(min(Int(random.uniform() * Double(instructors)), instructors - 1)) }
        for d in rated.sorted() {
            let dept = d / perDepartment
            let service = random.uniform() < 0.4 ? 1 : 0
            let y = 3.2 - 0.1 * Double(service) + student[s] + instructor[d] + departmentService[2 * dept + service]
                + random.standardNormal()
            lines.append("\(s),\(d),\(dept),\(service),\(y)")
        }
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-nested-\(UUID().uuidString).csv")
    try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let data = try DataTable.read(path: url.path, categorical: ["s", "d", "dept", "service"])
    return try Design.build(data: data, formula: Formula.parse("y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)"))
}

/// Posterior means of β, σ and every τ from the two samplers agree within 4 combined MCSEs
/// (√(MCSE₁² + MCSE₂²), each from Diagnostics' multi-chain bulk ESS), and the collapsed sampler's
/// bulk ESS of each is over `minimumESS`.
private func expectAgreement(_ design: Design, priors: GibbsPriors, collapsed: CollapsedCrossedGibbs, draws count: Int,
                             minimumESS: Double, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let fast = try draws(collapsed, chains: 4, warmup: 200, draws: count, seed: 11)
    let blocked = try draws(GibbsSampler(design: design, priors: priors), chains: 4, warmup: 200, draws: count, seed: 12)
    let names = design.fixed.columnNames.map { "b_" + $0 } + ["sigma"] + design.terms.map { "sd_" + $0.groupingName }
    for (p, name) in names.enumerated() {
        let (m1, m2) = (MonteCarlo.mean(fast[p].flatMap { $0 }), MonteCarlo.mean(blocked[p].flatMap { $0 }))
        let (e1, e2) = (mcseMean(fast[p]), mcseMean(blocked[p]))
        let combined = (e1 * e1 + e2 * e2).squareRoot()
        #expect(abs(m1 - m2) < 4 * combined, "\(label) \(name): collapsed \(m1) ± \(e1), blocked \(m2) ± \(e2)",
                sourceLocation: sourceLocation)
        #expect(essBulk(fast[p]) > minimumESS, "\(label) \(name): collapsed bulk ESS \(essBulk(fast[p]))",
                sourceLocation: sourceLocation)
    }
}

@Suite struct CollapsedCrossedGibbsTests {
    /// models/sim_crossed's priors: β ~ N(0, 30), σ, τ ~ half-Cauchy(0, 3).
    static let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [30, 30], sigmaScale: 3,
                                    tauScales: [[3], [3]], lkjEta: [1, 1])

    /// Exactness: the collapsed sampler and the blocked `GibbsSampler` target the same posterior
    /// (`expectAgreement`, 10000 draws per chain). Two models on a 12 x 10 crossed design: crossed
    /// intercepts, and an intercept crossed with a scalar random slope on x, which exercises the
    /// z-weighted sums (eq. 57-61 with z_i ≠ 1). Each under three splits: dense level budget 0
    /// (both terms large: one block per term, Papaspiliopoulos et al.'s scheme), 10 (b small, drawn
    /// with β in a's block) and 64 (both small: one joint draw), with interweaving; and budget 0
    /// without it (centered τ steps only).
    @Test(arguments: [(budget: 0, interweaves: true), (10, true), (64, true), (0, false)],
          ["y ~ 1 + x + (1 | a) + (1 | b)", "y ~ 1 + x + (1 | a) + (0 + x | b)"])
    func agreesWithBlockedSampler(split: (budget: Int, interweaves: Bool), formula: String) throws {
        let design = try crossedSubset(formula)
        #expect(design.observationCount == 120)
        var collapsed = try CollapsedCrossedGibbs(design: design, priors: Self.priors, denseLevelBudget: split.budget)
        collapsed.interweaves = split.interweaves
        try expectAgreement(design, priors: Self.priors, collapsed: collapsed, draws: 10000, minimumESS: 400,
                            "\(formula), budget \(split.budget), interweaving \(split.interweaves)")
    }

    /// Exactness where the small term matters: InstEval's structure (`nestedDesign`), whose
    /// dept:service term (8 levels) is confounded with the instructors (72 levels, large, as the
    /// students). Under the default split dept:service alone joins β; under budget 0 it is a
    /// block of its own.
    @Test(arguments: [CollapsedCrossedGibbs.defaultDenseLevelBudget, 0])
    func agreesWithBlockedSamplerOnNestedTerms(budget: Int) throws {
        let design = try nestedDesign()
        #expect(design.terms.map(\.levelCount) == [90, 72, 8])
        #expect(CollapsedCrossedGibbs.smallTerms(levelCounts: [90, 72, 8], budget: budget) == (budget == 0 ? [] : [2]))
        let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [20, 20], sigmaScale: 2, tauScales: [[2], [2], [2]],
                                 lkjEta: [1, 1, 1])
        let collapsed = try CollapsedCrossedGibbs(design: design, priors: priors, denseLevelBudget: budget)
        try expectAgreement(design, priors: priors, collapsed: collapsed, draws: 10000, minimumESS: 400,
                            "nested, budget \(budget)")
    }

    /// The split: fewest levels first while they fit the budget, returned in design order.
    @Test func smallTermsFillTheBudgetFewestLevelsFirst() {
        #expect(CollapsedCrossedGibbs.smallTerms(levelCounts: [2972, 1128, 28], budget: 64) == [2])
        #expect(CollapsedCrossedGibbs.smallTerms(levelCounts: [10, 30, 24], budget: 63) == [0, 2])
        #expect(CollapsedCrossedGibbs.smallTerms(levelCounts: [10, 30, 24], budget: 64) == [0, 1, 2])
        #expect(CollapsedCrossedGibbs.smallTerms(levelCounts: [6], budget: 0).isEmpty)
    }

    /// lp__ and the row's state are the blocked sampler's: after sweeps, the residual sum of
    /// squares the sampler carries in its sums (eq. 60, the pass's ‖e'‖² and Z_kᵀe' brought up to
    /// the current state) equals ‖ỹ − Xβ − Zb‖² from the data rows, and `logJointDensity()` a
    /// blocked sampler's at the same state (which takes SSR from the cross-products, eq. 22), both
    /// to rounding (the sums cancel about a digit against ‖e'‖² ≈ 10 ‖e‖² here). For every split,
    /// on the crossed corner and on the nested design.
    @Test(arguments: [0, 10, 64])
    func sharesTheBlockedSamplersState(budget: Int) throws {
        for design in [try crossedSubset("y ~ 1 + x + (1 | a) + (0 + x | b)"), try nestedDesign()] {
            let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [30, 30], sigmaScale: 3,
                                     tauScales: design.terms.map { _ in [3] }, lkjEta: design.terms.map { _ in 1 })
            var sampler = try CollapsedCrossedGibbs(design: design, priors: priors, denseLevelBudget: budget)
            var random = RandomStream(seed: 3, chain: 1)
            for _ in 0..<5 { try sampler.sweep(random: &random) }
            var direct = 0.0
            for i in 0..<design.observationCount {
                var fitted = 0.0
                for c in 0..<design.fixedCount { fitted += design.fixed.matrix[i, c] * sampler.beta[c] }
                for (j, term) in design.terms.enumerated() {
                    fitted += term.modelRows[i, 0] * sampler.randomEffects[j][Int(term.groupCodes[i])]
                }
                let e = design.response[i] - design.offset[i] - fitted
                direct += e * e
            }
            #expect(isClose(sampler.residualSumOfSquares, direct, relative: 1e-12),
                    "budget \(budget): \(sampler.residualSumOfSquares) vs rows \(direct)")
            #expect(isClose(sampler.logJointDensity(), sampler.state.logJointDensity(), relative: 1e-12))
            #expect(sampler.beta == sampler.state.beta && sampler.sigma == sampler.state.sigma)
            #expect(sampler.randomEffects.map(\.count) == design.terms.map(\.levelCount))
            #expect(sampler.logJointDensity().isFinite)
        }
    }

    /// A vector term is refused, naming the term.
    @Test func refusesVectorTerms() throws {
        let design = try sleepstudyDesign()
        let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [1000, 1000], sigmaScale: 50,
                                 tauScales: [[50, 10]], lkjEta: [2])
        #expect(throws: GibbsError.termNotScalar(term: "(1 + Days | Subject)", coefficients: 2)) {
            try CollapsedCrossedGibbs(design: design, priors: priors)
        }
    }
}
