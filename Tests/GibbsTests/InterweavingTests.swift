import Foundation
import ModelSpec
import Testing
import TestSupport
@testable import Samplers

@Suite struct InterweavingTests {
    /// The interweaving step's quadratic (docs/math.md, eq. 32-33): for term j, Z_jᵀe and the
    /// blocks of Z_jᵀZ_j from the cross-products give SSR(s) = ‖e‖² + 2δᵀd + δᵀHδ, δ = 1 − s, for
    /// b_j scaled coefficient-wise by s. Checked against the residuals computed from the data rows,
    /// for the first term (block-diagonal part) and a later term (dense part), scalar and vector.
    @Test(arguments: ["Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "Reaction ~ Days + (Days | Subject)"])
    func quadraticMatchesDataRows(formula: String) throws {
        let design = try sleepstudyDesign(formula)
        let scalar = design.terms.count == 2
        let priors = scalar ? GibbsPriors(fixedMeans: [0, 0], fixedSDs: [1000, 1000], sigmaScale: 25, tauScales: [[25], [10]], lkjEta: [1, 1])
                            : sleepstudyPriors
        var sampler = try GibbsSampler(design: design, priors: priors)
        var random = RandomStream(seed: 29, chain: 1)
        for _ in 0..<3 { try sampler.sweep(random: &random) }

        func directSSR(_ effects: [[Double]]) -> Double {
            var total = 0.0
            for i in 0..<design.observationCount {
                var fitted = 0.0
                for c in 0..<design.fixedCount { fitted += design.fixed.matrix[i, c] * sampler.beta[c] }
                for (j, term) in design.terms.enumerated() {
                    let h = Int(term.groupCodes[i])
                    for c in 0..<term.size { fitted += term.modelRows[i, c] * effects[j][h * term.size + c] }
                }
                let e = design.response[i] - design.offset[i] - fitted
                total += e * e
            }
            return total
        }
        let base = directSSR(sampler.randomEffects)
        for (j, term) in design.terms.enumerated() {
            let k = term.size
            let b = sampler.randomEffects[j]
            let (crossResidual, gram) = sampler.termCrossProducts(term: j)
            var d = [Double](repeating: 0, count: k), h = [Double](repeating: 0, count: k * k)
            for level in 0..<term.levelCount { for c in 0..<k {
                d[c] += b[level * k + c] * crossResidual[level * k + c]
                for a in 0..<k { h[a + c * k] += b[level * k + a] * gram[level * k * k + a + c * k] * b[level * k + c] }
            } }
            for s in [[0.3, 1.7], [2.5, 0.1], [1.0, 1.0]] {
                var scaled = sampler.randomEffects
                for level in 0..<term.levelCount { for c in 0..<k { scaled[j][level * k + c] *= s[c] } }
                let delta = (0..<k).map { 1 - s[$0] }
                var quadratic = base
                for c in 0..<k {
                    quadratic += 2 * delta[c] * d[c]
                    for a in 0..<k { quadratic += delta[a] * h[a + c * k] * delta[c] }
                }
                let direct = directSSR(scaled)
                #expect(isClose(quadratic, direct, relative: 1e-9), "term \(j), s \(s): \(quadratic) vs \(direct)")
            }
        }
    }

    /// The step keeps b_j = chol(Σ_j) u fixed in u: after it, chol(Σ_j)⁻¹ b_j is unchanged, and a
    /// vector term's correlation is unchanged.
    @Test func standardizedEffectsAndCorrelationAreKept() throws {
        let design = try sleepstudyDesign()
        var sampler = try GibbsSampler(design: design, priors: sleepstudyPriors)
        var random = RandomStream(seed: 31, chain: 1)
        try sampler.sweep(random: &random)
        func standardized(_ s: GibbsSampler) -> [Double] {
            let l = s.covarianceFactors[0]
            let b = s.randomEffects[0]
            return (0..<18).flatMap { h -> [Double] in
                let u0 = b[2 * h] / l[0]
                return [u0, (b[2 * h + 1] - l[1] * u0) / l[3]]
            }
        }
        func correlation(_ s: GibbsSampler) -> Double {
            let v = s.covariances[0]
            return v[1] / (v[0] * v[3]).squareRoot()
        }
        let (u, r) = (standardized(sampler), correlation(sampler))
        let before = sampler.covariances[0]
        sampler.interweaveScales(term: 0, random: random)
        #expect(sampler.covariances[0] != before)
        for (a, b) in zip(standardized(sampler), u) { #expect(isClose(a, b, relative: 1e-10, absolute: 1e-12)) }
        #expect(isClose(correlation(sampler), r, relative: 1e-12))
    }
}
