import Diagnostics
import Foundation
import ModelSpec
import Samplers
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
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-crossed-subset-\(getpid()).csv")
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

@Suite struct CollapsedCrossedGibbsTests {
    /// models/sim_crossed's priors: β ~ N(0, 30), σ, τ ~ half-Cauchy(0, 3).
    static let priors = GibbsPriors(fixedMeans: [0, 0], fixedSDs: [30, 30], sigmaScale: 3,
                                    tauScales: [[3], [3]], lkjEta: [1, 1])

    /// Exactness: the collapsed sampler and the blocked `GibbsSampler` target the same posterior,
    /// so on a small crossed design their posterior means of β, σ and both τ agree within 4
    /// combined MCSEs (√(MCSE₁² + MCSE₂²), each from Diagnostics' multi-chain bulk ESS). Two
    /// models: crossed intercepts, and an intercept crossed with a scalar random slope on x,
    /// which exercises the z-weighted sums (eq. 57-59 with z_i ≠ 1).
    @Test(arguments: ["y ~ 1 + x + (1 | a) + (1 | b)", "y ~ 1 + x + (1 | a) + (0 + x | b)"])
    func agreesWithBlockedSampler(formula: String) throws {
        let design = try crossedSubset(formula)
        #expect(design.observationCount == 120)
        let collapsed = try draws(CollapsedCrossedGibbs(design: design, priors: Self.priors),
                                  chains: 4, warmup: 200, draws: 10000, seed: 11)
        let blocked = try draws(GibbsSampler(design: design, priors: Self.priors),
                                chains: 4, warmup: 200, draws: 10000, seed: 12)
        let names = design.fixed.columnNames.map { "b_" + $0 } + ["sigma"] + design.terms.map { "sd_" + $0.groupingName }
        for (p, name) in names.enumerated() {
            let (m1, m2) = (MonteCarlo.mean(collapsed[p].flatMap { $0 }), MonteCarlo.mean(blocked[p].flatMap { $0 }))
            let (e1, e2) = (mcseMean(collapsed[p]), mcseMean(blocked[p]))
            let combined = (e1 * e1 + e2 * e2).squareRoot()
            #expect(abs(m1 - m2) < 4 * combined,
                    "\(formula) \(name): collapsed \(m1) ± \(e1), blocked \(m2) ± \(e2)")
            #expect(essBulk(collapsed[p]) > 400, "\(formula) \(name): collapsed bulk ESS \(essBulk(collapsed[p]))")
        }
    }

    /// lp__ and the row's state are the blocked sampler's: after a sweep, `logJointDensity()`
    /// equals a blocked sampler's set to the same state.
    @Test func sharesTheBlockedSamplersState() throws {
        let design = try crossedSubset("y ~ 1 + x + (1 | a) + (1 | b)")
        var sampler = try CollapsedCrossedGibbs(design: design, priors: Self.priors)
        var random = RandomStream(seed: 3, chain: 1)
        for _ in 0..<5 { try sampler.sweep(random: &random) }
        #expect(sampler.logJointDensity() == sampler.state.logJointDensity())
        #expect(sampler.beta == sampler.state.beta && sampler.sigma == sampler.state.sigma)
        #expect(sampler.randomEffects.map(\.count) == design.terms.map(\.levelCount))
        #expect(sampler.logJointDensity().isFinite)
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
