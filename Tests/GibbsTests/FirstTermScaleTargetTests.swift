import Foundation
import Linalg
import Testing
import TestSupport
@testable import Samplers

/// `FirstTermScaleTarget` (docs/math.md, eq. 63-66) against the marginal likelihood computed the
/// long way: Σ_h log N(r_h; 0, σ² I + Z_h Σ Z_hᵀ) with each n_h x n_h covariance built and
/// factored densely, plus the priors of `CovarianceTarget` with no coefficients (ℓ = 0) and σ's
/// half-Cauchy with its log Jacobian. The two may differ by a constant only.
@Suite struct FirstTermScaleTargetTests {
    /// Random levels: n_h rows (0 included) of a k-column Z_h and residuals r_h.
    struct Levels {
        var z: [[Double]] = []       // per level, row-major n_h x k
        var r: [[Double]] = []
        var rowCounts: [Int] = []
    }

    static func levels(order k: Int, count: Int, seed: UInt64) -> Levels {
        let random = RandomStream(seed: seed, chain: k)
        var levels = Levels()
        for h in 0..<count {
            let n = h == 0 ? 0 : 1 + h % 5   // one empty level, then 1…5 rows
            levels.rowCounts.append(n)
            levels.z.append((0..<(n * k)).map { _ in random.standardNormal() })
            levels.r.append((0..<n).map { _ in 3 * random.standardNormal() })
        }
        return levels
    }

    /// Σ_h log N(r_h; 0, σ² I + Z_h Σ Z_hᵀ), Σ = L Lᵀ.
    static func denseLogLikelihood(_ levels: Levels, order k: Int, sigma: Double, factor l: [Double]) -> Double {
        let covariance = SmallDense.outerOfLower(l, order: k)
        var total = 0.0
        for h in levels.rowCounts.indices {
            let n = levels.rowCounts[h]
            guard n > 0 else { continue }
            let z = levels.z[h]
            var v = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n {
                var s = i == j ? sigma * sigma : 0
                for a in 0..<k { for b in 0..<k { s += z[i * k + a] * covariance[a + b * k] * z[j * k + b] } }
                v[i + j * n] = s
            } }
            let chol = SmallDense.lowerCholesky(v, order: n)!
            var y = levels.r[h]
            y.withUnsafeMutableBufferPointer { y in chol.withUnsafeBufferPointer { SmallDense.solveLower($0.baseAddress!, order: n, y.baseAddress!) } }
            var logDeterminant = 0.0
            for i in 0..<n { logDeterminant += 2 * log(chol[i + i * n]) }
            total += -0.5 * Double(n) * log(2 * Double.pi) - 0.5 * logDeterminant - 0.5 * y.reduce(0) { $0 + $1 * $1 }
        }
        return total
    }

    /// G_h, c_h and rᵀr of the levels, as the sampler takes them from the cross-products.
    static func statistics(_ levels: Levels, order k: Int) -> (gram: [Double], cross: [Double], residualSquares: Double) {
        var gram: [Double] = []
        var cross: [Double] = []
        var residualSquares = 0.0
        for h in levels.rowCounts.indices {
            let n = levels.rowCounts[h], z = levels.z[h], r = levels.r[h]
            for b in 0..<k { for a in 0..<k {
                gram.append((0..<n).reduce(0) { $0 + z[$1 * k + a] * z[$1 * k + b] })
            } }
            for a in 0..<k { cross.append((0..<n).reduce(0) { $0 + z[$1 * k + a] * r[$1] }) }
            residualSquares += r.reduce(0) { $0 + $1 * $1 }
        }
        return (gram, cross, residualSquares)
    }

    static let tauScales = [1.5, 2.5, 3.5]
    static let eta = 2.0

    /// The target's log density at each point, with one workspace for all of them (`shared`) or a
    /// fresh one for each.
    static func logDensities(_ levels: Levels, order k: Int, at points: [[Double]], shared: Bool) -> [Double] {
        var (gram, cross, residualSquares) = statistics(levels, order: k)
        return gram.withUnsafeMutableBufferPointer { gram in
            cross.withUnsafeMutableBufferPointer { cross in
                let target = FirstTermScaleTarget(
                    order: k, levelCount: levels.rowCounts.count, observationCount: levels.rowCounts.reduce(0, +),
                    gram: gram.baseAddress!, cross: cross.baseAddress!, residualSquares: residualSquares,
                    sigmaScale: 2, tauScales: Array(tauScales.prefix(k)), eta: eta)
                var workspace = [Double](repeating: 0, count: target.workspaceCount)
                return workspace.withUnsafeMutableBufferPointer { workspace in
                    let scratch = workspace.baseAddress!
                    target.prepare(scratch)
                    return points.map { x in
                        if !shared { target.prepare(scratch) }
                        return x.withUnsafeBufferPointer { target.logDensity($0.baseAddress!, workspace: scratch) }
                    }
                }
            }
        }
    }

    /// A point: log σ, log τ, and (k ≥ 2) atanh of partial correlations.
    static func point(order k: Int, random: RandomStream) -> [Double] {
        var x = [0.3 * random.standardNormal()] + (0..<k).map { _ in 0.5 * random.standardNormal() }
        if k > 1 { x += (0..<(k * (k - 1) / 2)).map { _ in 0.7 * random.standardNormal() } }
        return x
    }

    /// Slice steps move one coordinate at a time, and the workspace keeps the others' terms: a
    /// walk that way gives the bits of evaluating every point afresh.
    @Test(arguments: [1, 2, 3])
    func cachedTermsGiveTheSameBits(order k: Int) {
        let levels = Self.levels(order: k, count: 11, seed: 43)
        let random = RandomStream(seed: 6, chain: k)
        var x = Self.point(order: k, random: random)
        var walk = [x]
        for step in 0..<40 {
            x[step % x.count] += 0.2 * random.standardNormal()
            walk.append(x)
            if step % 7 == 0 { walk.append(x) }   // the same point twice in a row
        }
        let shared = Self.logDensities(levels, order: k, at: walk, shared: true)
        #expect(shared == Self.logDensities(levels, order: k, at: walk, shared: false))
        #expect(shared.allSatisfy { $0.isFinite })
    }

    /// Where the determinants leave the normal doubles (σ near 1e±77) the sums take a logarithm
    /// per level or give up: the density is finite or −∞ there, never NaN or +∞.
    @Test(arguments: [1, 2])
    func extremeScalesGiveFiniteOrMinusInfinity(order k: Int) {
        let levels = Self.levels(order: k, count: 9, seed: 44)
        let points = [-200.0, -178.0, -170.0, 170.0, 176.0, 200.0].map { logSigma in
            [logSigma] + Array(repeating: 0.1, count: k * (k + 1) / 2)
        }
        for (x, value) in zip(points, Self.logDensities(levels, order: k, at: points, shared: false)) {
            #expect(value.isFinite || value == -.infinity, "log σ = \(x[0]): \(value)")
        }
    }

    /// 9 levels: two blocks of four and one level alone; 1031: more than the 512 levels after
    /// which the determinant's running product is logged.
    @Test(arguments: [1, 2, 3], [9, 1031])
    func matchesDenseMarginalLikelihood(order k: Int, levelCount: Int) {
        let levels = Self.levels(order: k, count: levelCount, seed: 41)
        let observationCount = levels.rowCounts.reduce(0, +)
        let tauScales = Array(Self.tauScales.prefix(k))
        let eta = Self.eta
        let random = RandomStream(seed: 5, chain: k)
        var differences: [Double] = []
        let points = (0..<6).map { _ in Self.point(order: k, random: random) }
        let values = Self.logDensities(levels, order: k, at: points, shared: false)
        for (x, value) in zip(points, values) {
            let covarianceCoordinates = Array(x[1...])
            let sigma = exp(x[0])
            let factor = CovarianceTarget.covarianceFactor(covarianceCoordinates, order: k)
            var prior = x[0] - log1p(sigma * sigma / 4)
            if k == 1 {
                prior += x[1] - log1p(exp(2 * x[1]) / (tauScales[0] * tauScales[0]))
            } else {
                let noCoefficients = CovarianceTarget(scatter: Array(repeating: 0, count: k * k), levelCount: 0,
                                                      scales: tauScales, eta: eta)
                prior += noCoefficients.logDensity(covarianceCoordinates)
            }
            let reference = Self.denseLogLikelihood(levels, order: k, sigma: sigma, factor: factor) + prior
            differences.append(value - reference)
        }
        // The target drops −(n/2) log 2π and nothing that depends on x.
        let expected = 0.5 * Double(observationCount) * log(2 * Double.pi)
        for difference in differences {
            #expect(isClose(difference, expected, relative: 1e-10, absolute: 1e-9), "k = \(k), ℓ = \(levelCount): \(differences)")
        }
    }
}
