import Foundation

/// The conditional of σ and the first term's covariance Σ₁ given β and the other terms'
/// coefficients, with the first term's coefficients b₁ integrated out (docs/math.md, eq. 61-64),
/// on the unconstrained vector
///
///   x = [log σ, log τ₁ … log τ_k, atanh z₁₀, …]   (after log σ, the layout of `CovarianceTarget`).
///
/// The first term's levels never share a row, so the marginal likelihood factors over its levels
/// and needs only each level's k x k block G_h = Z_hᵀZ_h, c_h = Z_hᵀ r with r = ỹ − Xβ − Z₋₁b₋₁,
/// and rᵀr: O(ℓ k³) per evaluation, whatever the number of rows. Drawing σ and Σ₁ without
/// conditioning on b₁ removes the coupling that makes the centered steps slow.
struct FirstTermScaleTarget {
    /// k, the first term's number of coefficients.
    let order: Int
    /// ℓ, its number of levels.
    let levelCount: Int
    /// n, the number of observations.
    let observationCount: Int
    /// G_h per level, column-major k x k, level after level.
    let gram: UnsafePointer<Double>
    /// c_h = Z_hᵀ r per level, k values each.
    let cross: UnsafePointer<Double>
    /// rᵀr.
    let residualSquares: Double
    /// Half-Cauchy scale of σ.
    let sigmaScale: Double
    /// Half-Cauchy scales of τ₁.
    let tauScales: [Double]
    /// LKJ shape of R₁ (unused when k = 1).
    let eta: Double

    /// Length of x.
    var dimension: Int { 1 + order * (order + 1) / 2 }

    /// Doubles of scratch `logDensity(_:workspace:)` needs.
    var workspaceCount: Int { 4 * order * order + 2 * order }

    /// log p(x | β, b₋₁, y) up to a constant (eq. 64); −∞ where R₁'s factor is singular.
    func logDensity(_ x: UnsafePointer<Double>, workspace: UnsafeMutablePointer<Double>) -> Double {
        let k = order
        let kk = k * k
        let logSigma = x[0]
        let variance = exp(2 * logSigma)
        guard variance.isFinite, variance > 0 else { return -.infinity }
        let l = workspace, a = workspace + kk, w = workspace + 2 * kk, t = workspace + 3 * kk
        let d = workspace + 4 * kk, logDiagonal = workspace + 4 * kk + k

        // L = chol(Σ₁) = diag(τ) W and the log prior of (τ, R) on their coordinates.
        var logPrior: Double
        if k == 1 {
            l[0] = exp(x[1])
            let ratio = l[0] / tauScales[0]
            logPrior = x[1] - log1p(ratio * ratio)
        } else {
            let logJacobianZ = CovarianceTarget.fillCorrelationFactor(x + 1, order: k, factor: w, logDiagonal: logDiagonal)
            for i in 1..<k where !logDiagonal[i].isFinite { return -.infinity }
            logPrior = logJacobianZ
            for r in 0..<k {
                let tau = exp(x[1 + r])
                let ratio = tau / tauScales[r]
                logPrior += x[1 + r] - log1p(ratio * ratio)
                for c in 0..<k { l[r + c * k] = w[r + c * k] * tau }
            }
            for i in 1..<k { logPrior += (2 * (eta - 1) + Double(k - i - 1)) * logDiagonal[i] }
        }
        let sigmaRatio = exp(logSigma) / sigmaScale
        logPrior += logSigma - log1p(sigmaRatio * sigmaRatio)
        var quadratic = 0.0
        var logDeterminant = 0.0
        var determinantProduct = 1.0
        /// Folds one level's |M| into the running product, taking a logarithm only when the
        /// product nears the range of a double.
        func accumulate(_ determinant: Double) {
            determinantProduct *= determinant
            if determinantProduct > 1e150 || determinantProduct < 1e-150 {
                logDeterminant += log(determinantProduct)
                determinantProduct = 1
            }
        }
        switch k {
        case 1:
            // M = σ² + τ² g_h, eᵀ M⁻¹ e = τ² c_h² / M (eq. 63 with k = 1).
            let tau2 = l[0] * l[0]
            for h in 0..<levelCount {
                let m = variance + tau2 * gram[h]
                let e = cross[h]
                quadratic += tau2 * e * e / m
                accumulate(m)
            }
        case 2:
            // |M| = σ⁴ + σ² tr(Σ G) + |Σ| |G| and |M| eᵀ M⁻¹ e = σ² cᵀ Σ c + |Σ| cᵀ adj(G) c
            // (eq. 63 for k = 2): sums of non-negative terms, no cancellation.
            let s00 = l[0] * l[0], s01 = l[0] * l[1], s11 = l[1] * l[1] + l[3] * l[3]
            let sigmaDeterminant = l[0] * l[0] * l[3] * l[3]
            for h in 0..<levelCount {
                let g = gram + 4 * h
                let c = cross + 2 * h
                let g00 = g[0], g01 = g[1], g11 = g[3]
                let c0 = c[0], c1 = c[1]
                let trace: Double = s00 * g00 + 2 * s01 * g01 + s11 * g11
                let gramDeterminant: Double = g00 * g11 - g01 * g01
                let determinant: Double = variance * (variance + trace) + sigmaDeterminant * gramDeterminant
                let cSigmaC: Double = s00 * c0 * c0 + 2 * s01 * c0 * c1 + s11 * c1 * c1
                let cAdjointC: Double = g11 * c0 * c0 - 2 * g01 * c0 * c1 + g00 * c1 * c1
                quadratic += (variance * cSigmaC + sigmaDeterminant * cAdjointC) / determinant
                accumulate(determinant)
            }
        default:
            // M = σ² I + Lᵀ G L and e = Lᵀ c, factored M = U D Uᵀ (unit lower U): |M| = Π D_i,
            // eᵀ M⁻¹ e = Σ f_i² / D_i with f = U⁻¹ e (eq. 63).
            for h in 0..<levelCount {
                let g = gram + h * kk
                let c = cross + h * k
                // t = G L, then a = Lᵀ t (L lower: row r of Lᵀ is column r of L, rows ≥ r).
                for col in 0..<k { for r in 0..<k {
                    var s = 0.0
                    for i in col..<k { s += g[r + i * k] * l[i + col * k] }
                    t[r + col * k] = s
                } }
                for col in 0..<k { for r in col..<k {
                    var s = 0.0
                    for i in r..<k { s += l[i + r * k] * t[i + col * k] }
                    a[r + col * k] = s
                } }
                for r in 0..<k {
                    a[r + r * k] += variance
                    var s = 0.0
                    for i in r..<k { s += l[i + r * k] * c[i] }
                    d[r] = s
                }
                for j in 0..<k {
                    var pivot = a[j + j * k]
                    for p in 0..<j { pivot -= a[j + p * k] * a[j + p * k] * a[p + p * k] }
                    guard pivot > 0 else { return -.infinity }
                    a[j + j * k] = pivot
                    for r in (j + 1)..<k {
                        var s = a[r + j * k]
                        for p in 0..<j { s -= a[r + p * k] * a[j + p * k] * a[p + p * k] }
                        a[r + j * k] = s / pivot
                    }
                }
                var determinant = 1.0
                for r in 0..<k {
                    var s = d[r]
                    for p in 0..<r { s -= a[r + p * k] * d[p] }
                    d[r] = s
                    quadratic += s * s / a[r + r * k]
                    determinant *= a[r + r * k]
                }
                accumulate(determinant)
            }
        }
        logDeterminant += log(determinantProduct)
        let freeRows = Double(observationCount - k * levelCount)
        return logPrior - freeRows * logSigma - 0.5 * logDeterminant
            - (residualSquares - quadratic) / (2 * variance)
    }
}
