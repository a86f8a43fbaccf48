import Foundation
import Testing
import TestSupport
import Samplers

@Suite struct CovarianceStepTests {
    /// k = 2 on a fixed scatter matrix (ℓ = 18, sleepstudy-like): slice draws of (τ₁, τ₂, r)
    /// against marginals from a 3-D grid of the target written directly in (τ₁, τ₂, r), measure
    /// dτ₁ dτ₂ dr, so neither the unconstrained parameterization nor its Jacobians enter it:
    /// p ∝ |Σ|^(−ℓ/2) e^(−tr(Σ⁻¹S)/2) Π 1/(1 + τ_i²/A_i²) (1 − r²)^(η−1).
    @Test func twoByTwoMatchesGrid() {
        let ell = 18
        let base: [Double] = [600, 12, 12, 35]
        let scatter = base.map { $0 * Double(ell) }
        let scales = [25.0, 10.0]
        let eta = 2.0
        let target = CovarianceTarget(scatter: scatter, levelCount: ell, scales: scales, eta: eta)

        var x = [log(20.0), log(5.0), 0.0]
        let random = RandomStream(seed: 5, chain: 1)
        let slice = SliceSampler()
        var tau1: [Double] = [], tau2: [Double] = [], r: [Double] = []
        for _ in 0..<20000 {
            x = slice.sweep(x, target: target.logDensity, random: random)
            let sigma = target.covariance(x)
            let (s1, s2) = (sigma[0].squareRoot(), sigma[3].squareRoot())
            tau1.append(s1)
            tau2.append(s2)
            r.append(sigma[1] / (s1 * s2))
        }

        let points = 200
        let t1 = grid(from: 5, to: 90, points)
        let t2 = grid(from: 0.5, to: 25, points)
        let rs = grid(from: -1, to: 1, points)
        var logDensity = [Double](repeating: 0, count: points * points * points)
        for (a, s1) in t1.enumerated() { for (b, s2) in t2.enumerated() { for (c, rho) in rs.enumerated() {
            let (v11, v22, v12) = (s1 * s1, s2 * s2, rho * s1 * s2)
            let det = v11 * v22 - v12 * v12
            let trace = (v22 * scatter[0] - 2 * v12 * scatter[1] + v11 * scatter[3]) / det
            var value = -0.5 * Double(ell) * log(det) - 0.5 * trace
            value -= log1p(s1 * s1 / (scales[0] * scales[0])) + log1p(s2 * s2 / (scales[1] * scales[1]))
            value += (eta - 1) * log1p(-rho * rho)
            logDensity[a + points * (b + points * c)] = value
        } } }
        let top = logDensity.max()!
        var m1 = [Double](repeating: 0, count: points), m2 = m1, m3 = m1
        for a in 0..<points { for b in 0..<points { for c in 0..<points {
            let w = exp(logDensity[a + points * (b + points * c)] - top)
            m1[a] += w; m2[b] += w; m3[c] += w
        } } }
        // The grid must hold the mass: its edge cells carry a negligible share of it.
        for m in [m1, m2] { #expect(max(m.first!, m.last!) < 1e-6 * m.reduce(0, +)) }
        expectDraws(tau1, match: GridDistribution(points: t1, masses: m1), "τ₁")
        expectDraws(tau2, match: GridDistribution(points: t2, masses: m2), "τ₂")
        expectDraws(r, match: GridDistribution(points: rs, masses: m3), "r")
    }

    /// k = 3 with no data (ℓ = 0): the draws must follow the priors, which checks the Jacobians
    /// that vanish for k = 2. Each τ_i ~ half-Cauchy(0, A_i): P(τ ≤ A tan(πp/2)) = p; each
    /// correlation of an LKJ(η) matrix has (r + 1)/2 ~ Beta(η − 1 + k/2, η − 1 + k/2)
    /// (Lewandowski, Kurowicka & Joe 2009), here integrated on a grid.
    @Test(arguments: [1.0, 3.0])
    func threeByThreePriorOnly(eta: Double) {
        let k = 3
        let scales = [1.0, 2.0, 0.5]
        let target = CovarianceTarget(scatter: Array(repeating: 0, count: 9), levelCount: 0, scales: scales, eta: eta)
        var x = [0.0, 0.0, 0.0, 0.1, -0.2, 0.3]
        let random = RandomStream(seed: 17, chain: Int(eta))
        let slice = SliceSampler()
        var logTaus: [[Double]] = Array(repeating: [], count: k)
        var correlations: [[Double]] = Array(repeating: [], count: 3)
        for _ in 0..<20000 {
            x = slice.sweep(x, target: target.logDensity, random: random)
            let sigma = target.covariance(x)
            let sd = (0..<k).map { sigma[$0 * (k + 1)].squareRoot() }
            for i in 0..<k { logTaus[i].append(log(sd[i])) }
            for (index, (i, j)) in [(1, 0), (2, 0), (2, 1)].enumerated() {
                correlations[index].append(sigma[i + j * k] / (sd[i] * sd[j]))
            }
        }
        // log τ ~ log half-Cauchy: p(t) ∝ e^t / (1 + e^(2t)/A²), on a grid in t.
        for i in 0..<k {
            let ts = grid(from: log(scales[i]) - 30, to: log(scales[i]) + 30, 200000)
            let exact = GridDistribution(points: ts, logDensities: ts.map { $0 - log1p(exp(2 * $0) / (scales[i] * scales[i])) })
            expectDraws(logTaus[i], match: exact, "log τ\(i + 1), η = \(eta)")
        }
        let a = eta - 1 + Double(k) / 2
        let rs = grid(from: -1, to: 1, 20000)
        let exactR = GridDistribution(points: rs, logDensities: rs.map { (a - 1) * log1p(-$0 * $0) })
        for c in 0..<3 { expectDraws(correlations[c], match: exactR, "r\(c), η = \(eta)") }
    }
}

/// Midpoints of `count` equal cells spanning [low, high].
func grid(from low: Double, to high: Double, _ count: Int) -> [Double] {
    let step = (high - low) / Double(count)
    return (0..<count).map { low + (Double($0) + 0.5) * step }
}
