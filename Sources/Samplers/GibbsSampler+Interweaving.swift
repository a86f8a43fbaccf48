import Foundation
import CNumerics
import ModelSpec

extension GibbsSampler {
    /// The non-centered (ancillary) half of the interweaving step for term j (docs/math.md,
    /// eq. 29-35): with u_h = chol(Σ_j)⁻¹ b_h held fixed (and, for a vector term, its correlation
    /// factor W), slice steps on log τ_{j,c} under p(τ | u, β, σ, b_{−j}, y), then b_j is mapped
    /// back: b_{h,c} ← (τ'_c / τ_c) b_{h,c}.
    ///
    /// The likelihood of the new scales is a quadratic in the ratios s_c = τ'_c / τ_c whose
    /// coefficients come from the cross-product blocks once per call (eq. 32-33), so each slice
    /// evaluation costs O(k²) whatever the number of observations.
    mutating func interweaveScales(term j: Int, random: RandomSource) {
        let term = design.terms[j]
        let k = term.size
        let b = randomEffects[j]
        let (crossResidual, gram) = termCrossProducts(term: j)
        // d_c = Σ_h b_{h,c} (Z_jᵀ e)_{h,c} and H_cd = Σ_h b_{h,c} (Z_jᵀZ_j)_{h;cd} b_{h,d} (eq. 32).
        var d = [Double](repeating: 0, count: k)
        var h = [Double](repeating: 0, count: k * k)
        for level in 0..<term.levelCount {
            let base = level * k
            for c in 0..<k {
                d[c] += b[base + c] * crossResidual[base + c]
                for a in 0..<k { h[a + c * k] += b[base + a] * gram[level * k * k + a + c * k] * b[base + c] }
            }
        }
        let tau = (0..<k).map { c in Self.rowNorm(covarianceFactors[j], row: c, order: k) }
        let scales = priors.tauScales[j]
        let inverseTwiceVariance = 1 / (2 * sigma * sigma)
        var x = tau.map { log($0) }
        let slice = self.slice
        // log p(x | u, β, σ, b_{−j}, y) in x_c = log τ'_c, up to a constant (eq. 34).
        withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { delta in
            let delta = delta.baseAddress!
            tau.withUnsafeBufferPointer { tau in
                scales.withUnsafeBufferPointer { scales in
                    d.withUnsafeBufferPointer { d in
                        h.withUnsafeBufferPointer { h in
                            x.withUnsafeMutableBufferPointer { x in
                                slice.sweep(x, random: random) { x -> Double in
                                    let value = Self.logScalePrior(x, scales: scales.baseAddress!, order: k)
                                    guard value.isFinite else { return -.infinity }
                                    for c in 0..<k { delta[c] = 1 - exp(x[c]) / tau[c] }
                                    var change = 0.0
                                    for c in 0..<k {
                                        change += 2 * delta[c] * d[c]
                                        for a in 0..<k { change += delta[a] * h[a + c * k] * delta[c] }
                                    }
                                    return value - change * inverseTwiceVariance
                                }
                            }
                        }
                    }
                }
            }
        }
        rescale(term: j, ratios: (0..<k).map { exp(x[$0]) / tau[$0] }, logScales: x)
    }

    /// Σ_c [x_c − log(1 + (e^{x_c} / A_c)²)]: the half-Cauchy(0, A_c) priors of τ_c = e^{x_c}
    /// with the Jacobian of x = log τ (eq. 34); −∞ where some τ_c is 0 or not finite.
    static func logScalePrior(_ x: UnsafePointer<Double>, scales: UnsafePointer<Double>, order k: Int) -> Double {
        var value = 0.0
        for c in 0..<k {
            let t = exp(x[c])
            guard t.isFinite, t > 0 else { return -.infinity }
            let ratio = t / scales[c]
            value += x[c] - log1p(ratio * ratio)
        }
        return value
    }

    /// The end of an interweaving step (eq. 35): b_j's coefficient c and row c of chol(Σ_j) =
    /// diag(τ) W scale by `ratios[c]` = τ'_c / τ_c, and a vector term's log τ coordinates become
    /// `logScales`.
    mutating func rescale(term j: Int, ratios: [Double], logScales: [Double]) {
        let term = design.terms[j]
        let k = term.size
        var updated = randomEffects[j]
        for level in 0..<term.levelCount { for c in 0..<k { updated[level * k + c] *= ratios[c] } }
        randomEffects[j] = updated
        rescaleCovariance(term: j, ratios: ratios, logScales: logScales)
    }

    /// Row c of chol(Σ_j) = diag(τ) W scaled by `ratios[c]`, and a vector term's log τ
    /// coordinates set to `logScales`; b_j untouched.
    mutating func rescaleCovariance(term j: Int, ratios: [Double], logScales: [Double]) {
        let k = design.terms[j].size
        var factor = covarianceFactors[j]
        for c in 0..<k { for a in 0...c { factor[c + a * k] *= ratios[c] } }
        covarianceFactors[j] = factor
        if var coordinates = covarianceCoordinates[j] {
            for c in 0..<k { coordinates[c] = logScales[c] }
            covarianceCoordinates[j] = coordinates
        }
    }

    /// The interweaving step for σ (docs/math.md, eq. 36): with the standardized effects u, the
    /// correlation factors W and the relative scales θ = τ/σ held, a slice step on log σ' under
    /// p(σ | β, θ, W, u, y), then every b, every τ and σ are scaled by s = σ'/σ. The residual sum
    /// of squares is a quadratic in s whose three coefficients come from three cross-product
    /// evaluations, so the step costs O(nnz of A) once plus O(number of τ's) per evaluation.
    mutating func interweaveResidualScale(random: RandomSource) {
        let sigma = self.sigma
        let beta = self.beta
        let current = randomEffects
        // SSR(s) = ‖e + δ v‖² = r1 + 2δ d + δ² H with δ = 1 − s, e the current residual, v = Zb:
        // from SSR at s = 1 (δ = 0), s = 0 (δ = 1) and s = 2 (δ = −1).
        let r1 = residualSumOfSquares(beta: beta, randomEffects: current)
        let r0 = residualSumOfSquares(beta: beta, randomEffects: current.map { $0.map { _ in 0 } })
        let r2 = residualSumOfSquares(beta: beta, randomEffects: current.map { $0.map { 2 * $0 } })
        let h = (r0 + r2) / 2 - r1
        let d = (r0 - r2) / 4
        let (taus, tauScales) = everyScale()
        let tauCount = Double(taus.count)
        let n = Double(design.observationCount)
        let sigmaScale = priors.sigmaScale
        var x = [log(sigma)]
        let slice = self.slice
        taus.withUnsafeBufferPointer { taus in
            tauScales.withUnsafeBufferPointer { tauScales in
                x.withUnsafeMutableBufferPointer { x in
                    slice.sweep(x, random: random) { x -> Double in
                        let logSigma = x[0]
                        let sigmaNew = exp(logSigma)
                        guard sigmaNew.isFinite, sigmaNew > 0 else { return -.infinity }
                        let ratio = sigmaNew / sigma
                        let delta = 1 - ratio
                        let sigmaRatio = sigmaNew / sigmaScale
                        // log σ' Jacobian, half-Cauchy σ', τ' = s τ with its Jacobian σ'^K, σ'^(−n).
                        var value = logSigma - log1p(sigmaRatio * sigmaRatio) + (tauCount - n) * logSigma
                        for i in 0..<taus.count {
                            let t = ratio * taus[i] / tauScales[i]
                            value -= log1p(t * t)
                        }
                        let ssr = r1 + 2 * delta * d + delta * delta * h
                        return value - ssr / (2 * sigmaNew * sigmaNew)
                    }
                }
            }
        }
        let ratio = exp(x[0]) / sigma
        self.sigma = exp(x[0])
        scaleAll(by: ratio, logRatio: log(ratio), includingFixedEffects: false)
    }

    /// √(Σ_a L[row, a]²): the SD of coefficient `row` from a column-major lower factor.
    static func rowNorm(_ l: [Double], row: Int, order k: Int) -> Double {
        var s = 0.0
        for a in 0...row { s += l[row + a * k] * l[row + a * k] }
        return s.squareRoot()
    }

    /// For term j, Z_jᵀ e with e = ỹ − Xβ − Zb at the current state (level-major, q_j values), and
    /// the blocks of Z_jᵀZ_j (one column-major k_j x k_j block per level: two levels of one factor
    /// never share an observation, so Z_jᵀZ_j is block-diagonal). From the cross-product blocks
    /// of eq. 3 only: Z_jᵀ e = −(A w) on term j's rows, w = [b; β; −1] (eq. 33).
    func termCrossProducts(term j: Int) -> (crossResidual: [Double], gram: [Double]) {
        let products = design.crossProducts
        let layout = products.layout
        let k1 = layout.groupSize
        let m = layout.denseDimension
        let term = design.terms[j]
        let k = term.size
        let w = denseCoefficients(beta: beta, randomEffects: randomEffects)
        let groupCount = layout.groupCount
        var crossResidual = [Double](repeating: 0, count: term.effectCount)
        var gram = [Double](repeating: 0, count: term.levelCount * k * k)
        let first = j == 0 ? 0 : products.termStarts[j]
        let levelCount = term.levelCount
        let effectCount = term.effectCount
        randomEffects[0].withUnsafeBufferPointer { b1 in
        products.diagonal.withUnsafeBufferPointer { diagonal in
        products.offDiagonal.withUnsafeBufferPointer { offDiagonal in
        products.dense.storage.withUnsafeBufferPointer { dense in
        layout.patternOffsets.withUnsafeBufferPointer { offsets in
        layout.patternRows.withUnsafeBufferPointer { rows in
        w.withUnsafeBufferPointer { w in
        crossResidual.withUnsafeMutableBufferPointer { crossResidual in
        gram.withUnsafeMutableBufferPointer { gram in
            let b1 = b1.baseAddress!, diagonal = diagonal.baseAddress!, offDiagonal = offDiagonal.baseAddress!
            let dense = dense.baseAddress!, offsets = offsets.baseAddress!, rows = rows.baseAddress!, w = w.baseAddress!
            let crossResidual = crossResidual.baseAddress!, gram = gram.baseAddress!
            if j == 0 {
                for g in 0..<groupCount {
                    let base = g * k1 * k1
                    let start = offsets[g]
                    let count = offsets[g + 1] - start
                    let groupRows = rows + start
                    for c in 0..<k1 {
                        var s = 0.0
                        for a in 0..<k1 { s += diagonal[base + c * k1 + a] * b1[g * k1 + a] }
                        let column = offDiagonal + start * k1 + c * count
                        for a in 0..<count { s += column[a] * w[Int(groupRows[a])] }
                        crossResidual[g * k1 + c] = -s
                    }
                    for i in 0..<(k1 * k1) { gram[base + i] = diagonal[base + i] }
                }
                return
            }
            if m >= Self.blasDenseDimension {
                // The term's rows of D w as (its columns of the symmetric D)ᵀ w, one BLAS call.
                cblas_dgemv(CblasColMajor, CblasTrans, Int32(m), Int32(effectCount), -1, dense + first * m, Int32(m),
                            w, 1, 0, crossResidual, 1)
            } else {
            for r in first ..< first + effectCount {
                // Row r of the symmetric dense block read as its column r (both triangles are
                // stored, equal bit for bit), so the loop runs down contiguous memory.
                let column = dense + r * m
                var s = 0.0
                for c in 0..<m where w[c] != 0 { s += column[c] * w[c] }
                crossResidual[r - first] = -s
            }
            }
            for level in 0..<levelCount {
                let base = first + level * k
                for c in 0..<k { for a in 0..<k { gram[level * k * k + a + c * k] = dense[(base + a) + (base + c) * m] } }
            }
            // The first term's contribution to these rows: its off-diagonal blocks times b₁.
            for g in 0..<groupCount {
                let start = offsets[g]
                let count = offsets[g + 1] - start
                let groupRows = rows + start
                let block = offDiagonal + start * k1
                for a in 0..<count {
                    let row = Int(groupRows[a])
                    guard row >= first && row < first + effectCount else { continue }
                    var s = 0.0
                    for c in 0..<k1 { s += block[c * count + a] * b1[g * k1 + c] }
                    crossResidual[row - first] -= s
                }
            }
        } } } } } } } } }
        return (crossResidual, gram)
    }

    /// The dense-part coordinates of w = [b; β; −1]: terms 2…t's b, β, then −1 for ỹ.
    func denseCoefficients(beta: [Double], randomEffects: [[Double]]) -> [Double] {
        let products = design.crossProducts
        var w = [Double](repeating: 0, count: products.layout.denseDimension)
        for j in 1..<max(design.terms.count, 1) {
            let start = products.termStarts[j]
            for (i, value) in randomEffects[j].enumerated() { w[start + i] = value }
        }
        for i in 0..<beta.count { w[products.fixedStart + i] = beta[i] }
        w[w.count - 1] = -1
        return w
    }
}
