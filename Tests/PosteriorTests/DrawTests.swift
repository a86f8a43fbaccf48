import Foundation
import CNumerics
import ModelSpec
import Testing
import TestSupport

/// The exact draw of the integrated-out effects against the dense Gaussian conditional: the
/// draw is affine in the noise, so its mean is the draw at zero noise and its covariance is
/// A Aᵀ with A's columns the draws at unit noise vectors minus the mean.
@Suite struct DrawTests {
    /// Gaussian regression y = W v + e, v ~ N(μ₀, C), e ~ N(0, σ²I): the posterior mean
    /// μ₀ + C Wᵀ V⁻¹ (y − W μ₀) and covariance C − C Wᵀ V⁻¹ W C, V = W C Wᵀ + σ² I, densely.
    static func denseConditional(w: [Double], rows n: Int, columns d: Int, priorMean: [Double], priorCovariance c: [Double],
                                 sigma: Double, y: [Double]) -> (mean: [Double], covariance: [Double]) {
        // WC (n x d) and V.
        var wc = [Double](repeating: 0, count: n * d)
        for i in 0..<n { for b in 0..<d { var s = 0.0; for a in 0..<d { s += w[i + a * n] * c[a + b * d] }; wc[i + b * n] = s } }
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n {
            var s = i == k ? sigma * sigma : 0
            for a in 0..<d { s += wc[i + a * n] * w[k + a * n] }
            v[i + k * n] = s
        } }
        // Solve V [r, WC] for r = y − W μ₀.
        var rhs = [Double](repeating: 0, count: n * (d + 1))
        for i in 0..<n {
            var s = y[i]
            for a in 0..<d { s -= w[i + a * n] * priorMean[a] }
            rhs[i] = s
            for b in 0..<d { rhs[i + (b + 1) * n] = wc[i + b * n] }
        }
        let info = v.withUnsafeMutableBufferPointer { vp in
            rhs.withUnsafeMutableBufferPointer { LAPACKE_dposv(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), Int32(d + 1), vp.baseAddress!, Int32(n), $0.baseAddress!, Int32(n)) }
        }
        precondition(info == 0)
        let mean = (0..<d).map { a in priorMean[a] + (0..<n).reduce(0.0) { $0 + wc[$1 + a * n] * rhs[$1] } }
        var covariance = c
        for a in 0..<d { for b in 0..<d {
            var s = 0.0
            for i in 0..<n { s += wc[i + a * n] * rhs[i + (b + 1) * n] }
            covariance[a + b * d] -= s
        } }
        return (mean, covariance)
    }

    @Test(arguments: [TestModel.sleepstudyCorrelated, .crossedVector, .dyestuff])
    func collapsedDrawMatchesDenseConditional(model: TestModel) throws {
        try check(model: model, integrateFixedEffects: false)
    }

    @Test(arguments: [TestModel.sleepstudyCorrelated, .crossed])
    func marginalJointDrawMatchesDenseConditional(model: TestModel) throws {
        try check(model: model, integrateFixedEffects: true)
    }

    func check(model: TestModel, integrateFixedEffects: Bool) throws {
        let design = try model.design()
        var priors = model.priors(for: design)
        priors.fixed = leastSquaresBeta(design).map { NormalPrior(mean: $0 + 1, sd: 0.1 * abs($0) + 1) }
        var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: integrateFixedEffects)
        var random = TestRandom(seed: 31)
        let x = randomPoint(target.layout, design: design, random: &random)
        let parameters = target.layout.constrain(x)
        let n = design.observationCount
        let p = design.fixedCount
        let q = design.terms.reduce(0) { $0 + $1.effectCount }
        let d = q + (integrateFixedEffects ? p : 0)

        // Dense W = [Z (X)], prior mean and covariance, response (minus Xβ when β is given).
        var w = [Double](repeating: 0, count: n * d)
        var c = [Double](repeating: 0, count: d * d)
        var start = 0
        for (j, term) in design.terms.enumerated() {
            let k = term.size
            let sigmaJ = parameters.covariance(term: j)
            for i in 0..<n { for col in 0..<k { w[i + (start + Int(term.groupCodes[i]) * k + col) * n] = term.modelRows[i, col] } }
            for h in 0..<term.levelCount { for a in 0..<k { for b in 0..<k {
                c[(start + h * k + a) + (start + h * k + b) * d] = sigmaJ[a + b * k]
            } } }
            start += term.effectCount
        }
        var priorMean = [Double](repeating: 0, count: d)
        var y = zip(design.response, design.offset).map { $0 - $1 }
        if integrateFixedEffects {
            for col in 0..<p {
                for i in 0..<n { w[i + (q + col) * n] = design.fixed.matrix[i, col] }
                c[(q + col) * (d + 1)] = priors.fixed[col].sd * priors.fixed[col].sd
                priorMean[q + col] = priors.fixed[col].mean
            }
        } else {
            for i in 0..<n { for col in 0..<p { y[i] -= design.fixed.matrix[i, col] * parameters.beta[col] } }
        }
        let dense = Self.denseConditional(w: w, rows: n, columns: d, priorMean: priorMean, priorCovariance: c, sigma: parameters.sigma!, y: y)

        func flattened(_ draw: (beta: [Double], randomEffects: [[Double]])) -> [Double] {
            draw.randomEffects.flatMap { $0 } + (integrateFixedEffects ? draw.beta : [])
        }
        #expect(target.drawNoiseCount == d)
        var noise = [Double](repeating: 0, count: d)
        let meanResult = target.drawIntegratedEffects(at: x, noise: noise)
        let meanDraw = try #require(meanResult)
        let mean = flattened(meanDraw)
        if !integrateFixedEffects { #expect(meanDraw.beta == parameters.beta) }
        let meanScale = dense.mean.map(abs).max()!
        for (a, b) in zip(mean, dense.mean) { #expect(abs(a - b) < 1e-9 * meanScale, "mean \(a) vs dense \(b)") }

        var columns: [[Double]] = []
        for i in 0..<d {
            noise[i] = 1
            let result = target.drawIntegratedEffects(at: x, noise: noise)
            let drawn = try #require(result)
            columns.append(zip(flattened(drawn), mean).map { $0 - $1 })
            noise[i] = 0
        }
        var worst = 0.0
        let covarianceScale = (0..<d).map { dense.covariance[$0 * (d + 1)] }.max()!
        for a in 0..<d { for b in 0..<d {
            let blocked = columns.reduce(0.0) { $0 + $1[a] * $1[b] }
            worst = max(worst, abs(blocked - dense.covariance[a + b * d]) / covarianceScale)
        } }
        #expect(worst < 1e-9, "worst covariance error \(worst) relative to the largest variance")
    }
}
