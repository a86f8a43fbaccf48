import Foundation
import CNumerics
import Linalg
import ModelSpec
import Testing
import TestSupport
@testable import Samplers

func sleepstudyDesign(_ formula: String = "Reaction ~ Days + (Days | Subject)") throws -> Design {
    let data = try DataTable.read(path: Fixtures.url("data/sleepstudy.csv").path, categorical: ["Subject"])
    return try Design.build(data: data, formula: Formula.parse(formula))
}

/// Near lme4's REML fit of sleepstudy: σ = 25.59, SDs 24.74 and 5.922, correlation 0.066.
let sleepstudySigma = 25.59
let sleepstudyCovariance: [Double] = {
    let (s1, s2, r) = (24.74, 5.922, 0.066)
    return [s1 * s1, r * s1 * s2, r * s1 * s2, s2 * s2]
}()

/// Informative enough that a mistake in the β prior's terms would show.
let sleepstudyPriors = GibbsPriors(fixedMeans: [200, 5], fixedSDs: [30, 4], sigmaScale: 25,
                                   tauScales: [[25, 10]], lkjEta: [2])

/// The exact Gaussian full conditional of (b, β) given σ and Σ, built densely from the data rows
/// with plain loops: precision Q = [ZᵀZ/σ² + G⁻¹, ZᵀX/σ²; XᵀZ/σ², XᵀX/σ² + diag(1/s²)] and
/// mean Q⁻¹ [Zᵀỹ/σ²; Xᵀỹ/σ² + m/s²] (docs/math.md, eq. 21). Coordinates: b term by term,
/// level-major, then β.
struct DenseConditional {
    let mean: [Double]
    /// Q⁻¹, column-major.
    let covariance: [Double]
    let dimension: Int

    init(design: Design, priors: GibbsPriors, sigma: Double, covariances: [[Double]]) {
        var starts: [Int] = []
        var q = 0
        for term in design.terms { starts.append(q); q += term.effectCount }
        let p = design.fixedCount
        let d = q + p
        let n = design.observationCount
        var precision = [Double](repeating: 0, count: d * d)
        var rhs = [Double](repeating: 0, count: d)
        var row = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for a in 0..<d { row[a] = 0 }
            for (j, term) in design.terms.enumerated() {
                let h = Int(term.groupCodes[i])
                for c in 0..<term.size { row[starts[j] + h * term.size + c] = term.modelRows[i, c] }
            }
            for c in 0..<p { row[q + c] = design.fixed.matrix[i, c] }
            let y = design.response[i] - design.offset[i]
            for a in 0..<d where row[a] != 0 {
                rhs[a] += row[a] * y / (sigma * sigma)
                for b in 0..<d { precision[a + b * d] += row[a] * row[b] / (sigma * sigma) }
            }
        }
        // G⁻¹: Σ_j⁻¹ on each level's block.
        for (j, term) in design.terms.enumerated() {
            let k = term.size
            var inverse = covariances[j]
            _ = inverse.withUnsafeMutableBufferPointer { LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(k), $0.baseAddress!, Int32(k)) }
            _ = inverse.withUnsafeMutableBufferPointer { LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(k), $0.baseAddress!, Int32(k)) }
            for h in 0..<term.levelCount {
                for c in 0..<k { for r in 0..<k {
                    let base = starts[j] + h * k
                    precision[(base + r) + (base + c) * d] += inverse[max(r, c) + min(r, c) * k]
                } }
            }
        }
        for c in 0..<p {
            let s2 = priors.fixedSDs[c] * priors.fixedSDs[c]
            precision[(q + c) * (d + 1)] += 1 / s2
            rhs[q + c] += priors.fixedMeans[c] / s2
        }
        var covariance = precision
        _ = covariance.withUnsafeMutableBufferPointer { LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(d), $0.baseAddress!, Int32(d)) }
        _ = covariance.withUnsafeMutableBufferPointer { LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(d), $0.baseAddress!, Int32(d)) }
        for c in 0..<d { for r in 0..<c { covariance[r + c * d] = covariance[c + r * d] } }
        mean = (0..<d).map { r in (0..<d).reduce(0.0) { $0 + covariance[r + $1 * d] * rhs[$1] } }
        self.covariance = covariance
        dimension = d
    }

    func variance(_ i: Int) -> Double { covariance[i * (dimension + 1)] }
}

/// The stacked [b; β] of a sampler's coefficients (dense coordinates).
func stacked(_ c: GibbsSampler.Coefficients) -> [Double] { c.randomEffects.flatMap { $0 } + c.beta }

@Suite struct ConditionalDrawTests {
    /// The blocked mean L⁻ᵀ ℓ equals the dense Q⁻¹ r (not random): 1e-8 relative.
    @Test(arguments: ["Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)"])
    func blockedMeanEqualsDenseMean(formula: String) throws {
        let design = try sleepstudyDesign(formula)
        let scalar = design.terms.count == 2
        let priors = scalar ? GibbsPriors(fixedMeans: [200, 5], fixedSDs: [30, 4], sigmaScale: 25, tauScales: [[25], [10]], lkjEta: [1, 1])
                            : sleepstudyPriors
        let covariances = scalar ? [[24.74 * 24.74], [5.922 * 5.922]] : [sleepstudyCovariance]
        var sampler = try GibbsSampler(design: design, priors: priors)
        try sampler.setVarianceParameters(sigma: sleepstudySigma, covariances: covariances)
        let blocked = stacked(try sampler.conditionalMean())
        let dense = DenseConditional(design: design, priors: priors, sigma: sleepstudySigma, covariances: covariances)
        let scale = dense.mean.map(abs).max()!
        for (a, b) in zip(blocked, dense.mean) {
            #expect(abs(a - b) <= 1e-8 * max(abs(b), 1e-3 * scale), "blocked \(a) vs dense \(b)")
        }
    }

    /// The residual sum of squares from the cross-products equals the one from the data rows.
    @Test func residualSumOfSquaresFromCrossProducts() throws {
        let design = try sleepstudyDesign()
        let sampler = try GibbsSampler(design: design, priors: sleepstudyPriors)
        let beta = [251.4, 10.47]
        let b: [Double] = (0..<36).map { (i: Int) -> Double in Double((i * 37) % 11) - 5 + 0.25 * Double(i % 3) }
        var direct = 0.0
        let term = design.terms[0]
        for i in 0..<design.observationCount {
            let h = Int(term.groupCodes[i])
            var fitted: Double = design.fixed.matrix[i, 0] * beta[0]
            fitted += design.fixed.matrix[i, 1] * beta[1]
            fitted += term.modelRows[i, 0] * b[2 * h]
            fitted += term.modelRows[i, 1] * b[2 * h + 1]
            let e: Double = design.response[i] - design.offset[i] - fitted
            direct += e * e
        }
        let blocked = sampler.residualSumOfSquares(beta: beta, randomEffects: [b])
        #expect(isClose(blocked, direct, relative: 1e-9), "\(blocked) vs \(direct)")
    }

    /// With σ and Σ held, 4000 draws of (β, b) have the exact conditional's means (within 4 MC
    /// SEs: draws are independent, SE = sd/√N), variances (the ratio s²/V ~ χ²_{N−1}/(N−1), SD
    /// √(2/(N−1)); within 4 of those) and β's covariance (SE √((V₁₁V₂₂ + V₁₂²)/N)).
    @Test func drawsMatchDenseConditional() throws {
        let design = try sleepstudyDesign()
        var sampler = try GibbsSampler(design: design, priors: sleepstudyPriors)
        try sampler.setVarianceParameters(sigma: sleepstudySigma, covariances: [sleepstudyCovariance])
        sampler.holdsVarianceParametersFixed = true
        let exact = DenseConditional(design: design, priors: sleepstudyPriors, sigma: sleepstudySigma, covariances: [sleepstudyCovariance])
        var random = RandomStream(seed: 20240611, chain: 1)
        let count = 4000
        var draws: [[Double]] = []
        for _ in 0..<count {
            try sampler.sweep(random: &random)
            draws.append(stacked(.init(beta: sampler.beta, randomEffects: sampler.randomEffects)))
        }
        #expect(sampler.sigma == sleepstudySigma)
        let n = Double(count)
        let q = 36
        // β₀, β₁, and b of subjects 1, 9, 18 (intercept and slope).
        let checked = [q, q + 1, 0, 1, 16, 17, 34, 35]
        for i in checked {
            let x = draws.map { $0[i] }
            let mean = MonteCarlo.mean(x)
            let v = exact.variance(i)
            #expect(abs(mean - exact.mean[i]) < 4 * (v / n).squareRoot(),
                    "coordinate \(i): mean \(mean) vs exact \(exact.mean[i]), SE \((v / n).squareRoot())")
            let ratio = MonteCarlo.variance(x) / v
            #expect(abs(ratio - 1) < 4 * (2 / (n - 1)).squareRoot(), "coordinate \(i): variance ratio \(ratio)")
        }
        let (m0, m1) = (MonteCarlo.mean(draws.map { $0[q] }), MonteCarlo.mean(draws.map { $0[q + 1] }))
        let sampleCovariance = draws.reduce(0.0) { $0 + ($1[q] - m0) * ($1[q + 1] - m1) } / (n - 1)
        let (v00, v11, v01) = (exact.variance(q), exact.variance(q + 1), exact.covariance[q + (q + 1) * exact.dimension])
        #expect(abs(sampleCovariance - v01) < 4 * ((v00 * v11 + v01 * v01) / n).squareRoot(),
                "cov(β₀, β₁) \(sampleCovariance) vs exact \(v01)")
    }
}
