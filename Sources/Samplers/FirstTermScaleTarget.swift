import Foundation

/// The conditional of σ and the first term's covariance Σ₁ given β and the other terms'
/// coefficients, with the first term's coefficients b₁ integrated out (docs/math.md, eq. 63-66),
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
    /// rᵀr.
    let residualSquares: Double
    /// Half-Cauchy scale of σ.
    let sigmaScale: Double
    /// Half-Cauchy scales of τ₁.
    let tauScales: [Double]
    /// LKJ shape of R₁ (unused when k = 1).
    let eta: Double
    /// What the per-level sums of eq. 65 read, fixed for the whole step: for k = 1, the arrays
    /// g_h and c_h²; for k = 2, g₀₀, 2g₀₁, g₁₁, |G|, c₀², 2c₀c₁, c₁², cᵀadj(G)c; each ℓ long,
    /// one after the other, so that an evaluation runs down contiguous memory four levels at a
    /// time. For k ≥ 3, G_h (column-major k x k, level after level) then c_h (k values each).
    private let levelStatistics: [Double]
    /// The largest of each statistic over the levels that bounds |M| from above (k = 1: g; k = 2:
    /// g₀₀, |2g₀₁|, g₁₁, |G|).
    private let statisticMaxima: [Double]

    /// - Parameters:
    ///   - gram: G_h per level, column-major k x k, level after level.
    ///   - cross: c_h = Z_hᵀ r per level, k values each.
    init(order k: Int, levelCount: Int, observationCount: Int, gram: UnsafePointer<Double>, cross: UnsafePointer<Double>,
         residualSquares: Double, sigmaScale: Double, tauScales: [Double], eta: Double) {
        order = k
        self.levelCount = levelCount
        self.observationCount = observationCount
        self.residualSquares = residualSquares
        self.sigmaScale = sigmaScale
        self.tauScales = tauScales
        self.eta = eta
        let count = levelCount
        switch k {
        case 1:
            let statistics = [Double](unsafeUninitializedCapacity: 2 * count) { s, initialized in
                for h in 0..<count {
                    s[h] = gram[h]
                    s[count + h] = cross[h] * cross[h]
                }
                initialized = 2 * count
            }
            levelStatistics = statistics
            statisticMaxima = [Self.largest(statistics[0..<count])]
        case 2:
            let statistics = [Double](unsafeUninitializedCapacity: 8 * count) { s, initialized in
                for h in 0..<count {
                    let g00 = gram[4 * h], g01 = gram[4 * h + 1], g11 = gram[4 * h + 3]
                    let c0 = cross[2 * h], c1 = cross[2 * h + 1]
                    s[h] = g00
                    s[count + h] = 2 * g01
                    s[2 * count + h] = g11
                    s[3 * count + h] = max(g00 * g11 - g01 * g01, 0)   // ≥ 0 but for rounding
                    s[4 * count + h] = c0 * c0
                    s[5 * count + h] = 2 * c0 * c1
                    s[6 * count + h] = c1 * c1
                    s[7 * count + h] = max(g11 * c0 * c0 - 2 * g01 * c0 * c1 + g00 * c1 * c1, 0)
                }
                initialized = 8 * count
            }
            levelStatistics = statistics
            statisticMaxima = (0..<4).map { Self.largest(statistics[($0 * count)..<(($0 + 1) * count)]) }
        default:
            levelStatistics = Array(UnsafeBufferPointer(start: gram, count: count * k * k))
                + Array(UnsafeBufferPointer(start: cross, count: count * k))
            statisticMaxima = []
        }
    }

    private static func largest(_ values: ArraySlice<Double>) -> Double {
        values.reduce(0) { max($0, abs($1)) }
    }

    /// Length of x.
    var dimension: Int { 1 + order * (order + 1) / 2 }

    /// Doubles of scratch `logDensity(_:workspace:)` needs: L, W, log W_ii, the k ≥ 3 level
    /// scratch (2k² + k), then the cache of the coordinates' own terms (`prepare`).
    var workspaceCount: Int { 4 * order * order + 2 * order + cacheCount }

    /// The cache: the coordinates last seen, σ², σ's prior term, τ (k), τ's prior terms (k), and
    /// R's prior and Jacobian term.
    private var cacheCount: Int { dimension + 3 + 2 * order }

    /// Readies a fresh workspace: nothing cached yet.
    func prepare(_ workspace: UnsafeMutablePointer<Double>) {
        (workspace + 4 * order * order + 2 * order).update(repeating: .nan, count: dimension)
    }

    /// log p(x | β, b₋₁, y) up to a constant (eq. 66); −∞ where R₁'s factor is singular.
    /// `workspace` (`workspaceCount` doubles, `prepare`d) carries, from one call to the next, the
    /// terms of each coordinate of x: a slice step moves one coordinate at a time, so the others'
    /// exponentials and logarithms are not computed again (same bits as computing them).
    func logDensity(_ x: UnsafePointer<Double>, workspace: UnsafeMutablePointer<Double>) -> Double {
        let k = order
        let kk = k * k
        let l = workspace, w = workspace + kk, logDiagonal = workspace + 2 * kk
        let cachedX = workspace + 4 * kk + 2 * k
        let cachedVariance = cachedX + dimension, sigmaTerm = cachedVariance + 1
        let tau = sigmaTerm + 1, tauTerm = tau + k, correlationTerm = tauTerm + k

        let logSigma = x[0]
        if logSigma != cachedX[0] {
            let sigma = exp(logSigma)
            let ratio = sigma / sigmaScale
            cachedVariance.pointee = sigma * sigma
            sigmaTerm.pointee = logSigma - log1p(ratio * ratio)
            cachedX[0] = logSigma
        }
        let variance = cachedVariance.pointee
        guard variance.isFinite, variance > 0 else { return -.infinity }
        for r in 0..<k where x[1 + r] != cachedX[1 + r] {
            tau[r] = exp(x[1 + r])
            let ratio = tau[r] / tauScales[r]
            tauTerm[r] = x[1 + r] - log1p(ratio * ratio)
            cachedX[1 + r] = x[1 + r]
        }
        if k > 1 && (k + 1 ..< dimension).contains(where: { x[$0] != cachedX[$0] }) {
            // R's factor W, LKJ(η) and the Jacobian of eq. 27.
            var term = CovarianceTarget.fillCorrelationFactor(x + 1, order: k, factor: w, logDiagonal: logDiagonal)
            for i in 1..<k { term += (2 * (eta - 1) + Double(k - i - 1)) * logDiagonal[i] }
            correlationTerm.pointee = term
            for i in (k + 1)..<dimension { cachedX[i] = x[i] }
        }
        if k > 1 {
            for i in 1..<k where !logDiagonal[i].isFinite { return -.infinity }
        }

        // L = chol(Σ₁) = diag(τ) W.
        var logPrior = sigmaTerm.pointee
        if k == 1 {
            l[0] = tau[0]
        } else {
            logPrior += correlationTerm.pointee
            for r in 0..<k { for c in 0..<k { l[r + c * k] = w[r + c * k] * tau[r] } }
        }
        for r in 0..<k { logPrior += tauTerm[r] }

        let sums: (logDeterminant: Double, quadratic: Double)?
        switch k {
        case 1: sums = scalarLevelSums(variance: variance, tauSquared: l[0] * l[0])
        case 2: sums = pairLevelSums(variance: variance, factor: l)
        default: sums = generalLevelSums(variance: variance, factor: l, scratch: workspace + 2 * kk + k)
        }
        guard let (logDeterminant, quadratic) = sums else { return -.infinity }
        let freeRows = Double(observationCount - k * levelCount)
        return logPrior - freeRows * logSigma - 0.5 * logDeterminant
            - (residualSquares - quadratic) / (2 * variance)
    }

    /// Σ_h log|M_h| and Σ_h e_hᵀ M_h⁻¹ e_h for k = 1 (eq. 65): M = σ² + τ² g_h, eᵀM⁻¹e = τ² c_h²/M.
    private func scalarLevelSums(variance: Double, tauSquared: Double) -> (Double, Double)? {
        levelStatistics.withUnsafeBufferPointer { s in
            let g = s.baseAddress!, cc = g + levelCount
            // σ² ≤ |M_h| ≤ σ² + τ² max g.
            let upper = variance + tauSquared * statisticMaxima[0]
            return Self.sums(levelCount: levelCount, lower: variance, upper: upper) { h in
                let determinant = variance + tauSquared * g[h]
                return (determinant, tauSquared * cc[h] / determinant)
            } block: { h in
                let determinant = variance + tauSquared * Self.load(g, h)
                return (determinant, tauSquared * Self.load(cc, h) / determinant)
            }
        }
    }

    /// The same for k = 2: |M| = σ⁴ + σ² tr(Σ G) + |Σ| |G| and |M| eᵀM⁻¹e = σ² cᵀΣc + |Σ| cᵀadj(G)c
    /// (eq. 65), sums of non-negative terms.
    private func pairLevelSums(variance: Double, factor l: UnsafePointer<Double>) -> (Double, Double)? {
        let s00 = l[0] * l[0], s01 = l[0] * l[1], s11 = l[1] * l[1] + l[3] * l[3]
        let sigmaDeterminant = l[0] * l[0] * l[3] * l[3]
        let n = levelCount
        return levelStatistics.withUnsafeBufferPointer { s in
            let g00 = s.baseAddress!, g01 = g00 + n, g11 = g00 + 2 * n, gramDeterminant = g00 + 3 * n
            let c00 = g00 + 4 * n, c01 = g00 + 5 * n, c11 = g00 + 6 * n, cAdjointC = g00 + 7 * n
            // σ⁴ ≤ |M_h| ≤ σ² (σ² + s₀₀ max g₀₀ + |s₀₁| max |2g₀₁| + s₁₁ max g₁₁) + |Σ| max |G|.
            let m = statisticMaxima
            let upper = variance * (variance + s00 * m[0] + abs(s01) * m[1] + s11 * m[2]) + sigmaDeterminant * m[3]
            return Self.sums(levelCount: n, lower: variance * variance, upper: upper) { h in
                let trace = s00 * g00[h] + s01 * g01[h] + s11 * g11[h]
                let determinant = variance * (variance + trace) + sigmaDeterminant * gramDeterminant[h]
                let cSigmaC = s00 * c00[h] + s01 * c01[h] + s11 * c11[h]
                return (determinant, (variance * cSigmaC + sigmaDeterminant * cAdjointC[h]) / determinant)
            } block: { h in
                let trace = s00 * Self.load(g00, h) + s01 * Self.load(g01, h) + s11 * Self.load(g11, h)
                let determinant = variance * (variance + trace) + sigmaDeterminant * Self.load(gramDeterminant, h)
                let cSigmaC = s00 * Self.load(c00, h) + s01 * Self.load(c01, h) + s11 * Self.load(c11, h)
                return (determinant, (variance * cSigmaC + sigmaDeterminant * Self.load(cAdjointC, h)) / determinant)
            }
        }
    }

    /// The same for k ≥ 3: M = σ² I + Lᵀ G L and e = Lᵀ c, factored M = U D Uᵀ (unit lower U),
    /// |M| = Π D_i and eᵀM⁻¹e = Σ f_i²/D_i with f = U⁻¹e (eq. 65). `scratch`: 2k² + k doubles.
    private func generalLevelSums(variance: Double, factor l: UnsafePointer<Double>,
                                  scratch: UnsafeMutablePointer<Double>) -> (Double, Double)? {
        let k = order, kk = k * k
        let a = scratch, t = scratch + kk, d = scratch + 2 * kk
        var logDeterminant = 0.0
        var quadratic = 0.0
        let singular: Bool = levelStatistics.withUnsafeBufferPointer { s in
            let gram = s.baseAddress!, cross = gram + levelCount * kk
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
                    guard pivot > 0 else { return true }
                    a[j + j * k] = pivot
                    for r in (j + 1)..<k {
                        var s = a[r + j * k]
                        for p in 0..<j { s -= a[r + p * k] * a[j + p * k] * a[p + p * k] }
                        a[r + j * k] = s / pivot
                    }
                }
                for r in 0..<k {
                    var s = d[r]
                    for p in 0..<r { s -= a[r + p * k] * d[p] }
                    quadratic += s * s / a[r + r * k]
                    d[r] = s
                    logDeterminant += log(a[r + r * k])
                }
            }
            return false
        }
        return singular ? nil : (logDeterminant, quadratic)
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Double>, _ h: Int) -> SIMD4<Double> {
        UnsafeRawPointer(p + h).loadUnaligned(as: SIMD4<Double>.self)
    }

    /// Σ_h log(determinant_h) and Σ_h quadratic_h over the levels, four at a time through `block`
    /// (levels h … h + 3) and the rest through `level`, given bounds `lower` ≤ determinant_h ≤
    /// `upper` for every level. Between normal doubles, logarithms are taken of products: each
    /// determinant is split into its binary exponent, summed as an integer, and its mantissa in
    /// [1, 2), multiplied into a running product that is logged every 128 blocks, so the sums
    /// cost no logarithm per level and cannot overflow. Outside that range (σ near 1e-77 or
    /// 1e77), a logarithm per level. Nil when `lower` is not positive (σ⁴ underflows): the
    /// density is then −∞ there.
    @inline(__always)
    static func sums(levelCount: Int, lower: Double, upper: Double, level: (Int) -> (Double, Double),
                     block: (Int) -> (SIMD4<Double>, SIMD4<Double>)) -> (Double, Double)? {
        guard lower > 0 else { return nil }
        guard lower >= Double.leastNormalMagnitude && upper <= Double.greatestFiniteMagnitude else {
            var logDeterminant = 0.0, quadratic = 0.0
            for h in 0..<levelCount {
                let (determinant, q) = level(h)
                logDeterminant += log(determinant)
                quadratic += q
            }
            return (logDeterminant, quadratic)
        }
        let exponentMask: UInt64 = 0x7ff << 52
        let mantissaMask: UInt64 = (1 << 52) - 1
        let one: UInt64 = 0x3ff << 52
        var quadratic = SIMD4<Double>(repeating: 0)
        var mantissas = SIMD4<Double>(repeating: 1)
        var exponents = SIMD4<UInt64>(repeating: 0)
        var logDeterminant = 0.0
        let blocks = levelCount / 4
        var b = 0
        while b < blocks {
            // Each lane's product of mantissas stays below 2^128, so the four lanes' product
            // below 2^512: one logarithm per 128 blocks.
            let end = min(blocks, b + 128)
            while b < end {
                let (determinant, q) = block(4 * b)
                quadratic += q
                let bits = unsafeBitCast(determinant, to: SIMD4<UInt64>.self)
                exponents &+= (bits & SIMD4(repeating: exponentMask)) &>> 52
                mantissas *= unsafeBitCast((bits & SIMD4(repeating: mantissaMask)) | SIMD4(repeating: one),
                                           to: SIMD4<Double>.self)
                b += 1
            }
            logDeterminant += log(mantissas[0] * mantissas[1] * mantissas[2] * mantissas[3])
            mantissas = SIMD4(repeating: 1)
        }
        var total = quadratic.sum()
        var exponentSum = Int(exponents.wrappedSum()) - 1023 * 4 * blocks
        var mantissa = 1.0
        for h in (4 * blocks)..<levelCount {   // at most three levels
            let (determinant, q) = level(h)
            total += q
            let bits = determinant.bitPattern
            exponentSum += Int((bits & exponentMask) >> 52) - 1023
            mantissa *= Double(bitPattern: (bits & mantissaMask) | one)
        }
        return (logDeterminant + log(mantissa) + Double(exponentSum) * M_LN2, total)
    }
}
