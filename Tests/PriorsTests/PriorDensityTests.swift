import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// Composite Simpson's rule on [a, b] with n (even) intervals.
private func simpson(_ a: Double, _ b: Double, _ n: Int, _ f: (Double) -> Double) -> Double {
    let h = (b - a) / Double(n)
    var sum = f(a) + f(b)
    for i in 1..<n { sum += (i % 2 == 1 ? 4 : 2) * f(a + Double(i) * h) }
    return sum * h / 3
}

/// The Cholesky factor (column-major, lower) of the 3 × 3 correlation matrix with r12, r13, r23,
/// or nil when it is not positive definite.
private func cholesky3(_ r12: Double, _ r13: Double, _ r23: Double) -> [Double]? {
    let l21 = r12, l31 = r13
    let d2 = 1 - l21 * l21
    guard d2 > 0 else { return nil }
    let l22 = d2.squareRoot()
    let l32 = (r23 - l31 * l21) / l22
    let d3 = 1 - l31 * l31 - l32 * l32
    guard d3 > 0 else { return nil }
    return [1, l21, l31, 0, l22, l32, 0, 0, d3.squareRoot()]
}

@Suite struct PriorDensityTests {
    @Test func normalAtKnownPoints() {
        // Standard normal at 0: 1/√(2π); at 1: e^{−1/2}/√(2π).
        #expect(isClose(PriorSet.logNormal(0, NormalPrior(mean: 0, sd: 1)), log(1 / (2 * Double.pi).squareRoot()), relative: 1e-14))
        #expect(isClose(PriorSet.logNormal(1, NormalPrior(mean: 0, sd: 1)), -0.5 - 0.5 * log(2 * Double.pi), relative: 1e-14))
        // N(300, 40) at 380 (z = 2): exp(−2)/(40√(2π)).
        #expect(isClose(PriorSet.logNormal(380, NormalPrior(mean: 300, sd: 40)), -2 - log(40) - 0.5 * log(2 * Double.pi), relative: 1e-14))
    }

    @Test func halfCauchyAtKnownPoints() {
        // p(0) = 2/(π s); p(s) = 1/(π s); p(3s) = 2/(10 π s).
        for s in [0.5, 1, 20, 100] {
            #expect(isClose(PriorSet.logHalfCauchy(0, scale: s), log(2 / (Double.pi * s)), relative: 1e-14))
            #expect(isClose(PriorSet.logHalfCauchy(s, scale: s), log(1 / (Double.pi * s)), relative: 1e-14))
            #expect(isClose(PriorSet.logHalfCauchy(3 * s, scale: s), log(2 / (10 * Double.pi * s)), relative: 1e-14))
        }
        #expect(PriorSet.logHalfCauchy(-1e-9, scale: 1) == -.infinity)
    }

    /// The CDF is (2/π) atan(x/s): half the mass lies below s, and the density integrates to it.
    @Test func halfCauchyIntegratesToItsCDF() {
        let s = 20.0
        for upper in [s, 5 * s] {
            let mass = simpson(0, upper, 2000) { exp(PriorSet.logHalfCauchy($0, scale: s)) }
            #expect(isClose(mass, 2 / Double.pi * atan(upper / s), relative: 1e-10))
        }
    }

    /// K = 2: R has one correlation r and L = [[1, 0], [r, √(1−r²)]]; the density of r is
    /// (1−r²)^{η−1} / (2^{2η−1} B(η, η)).
    @Test(arguments: [1.0, 2.0, 3.5, 0.75]) func lkjTwoByTwoMatchesTheClosedForm(eta: Double) {
        let beta = tgamma(eta) * tgamma(eta) / tgamma(2 * eta)
        for r in [-0.9, -0.3, 0, 0.5, 0.99] {
            let factor = [1, r, 0, (1 - r * r).squareRoot()]
            let expected = pow(1 - r * r, eta - 1) / (pow(2, 2 * eta - 1) * beta)
            #expect(isClose(PriorSet.logLKJCorrelationCholesky(factor, order: 2, eta: eta), log(expected), relative: 1e-12, absolute: 1e-13))
        }
    }

    /// K = 2: the density of r integrates to 1 over (−1, 1) (midpoint rule, which never
    /// evaluates the endpoints where L₂₂ = 0).
    @Test(arguments: [1.0, 2.0, 3.5]) func lkjTwoByTwoIntegratesToOne(eta: Double) {
        let n = 20_000
        let h = 2 / Double(n)
        var total = 0.0
        for i in 0..<n {
            let r = -1 + (Double(i) + 0.5) * h
            total += exp(PriorSet.logLKJCorrelationCholesky([1, r, 0, (1 - r * r).squareRoot()], order: 2, eta: eta))
        }
        #expect(isClose(total * h, 1, relative: 1e-7))
    }

    /// K = 3, η = 1: R is uniform over the elliptope, whose volume is π²/2; the density of L
    /// carries the Jacobian L₂₂ (Π_{i≥2} L_ii^{K−i}).
    @Test func lkjThreeByThreeUniform() throws {
        let identity = [1.0, 0, 0, 0, 1, 0, 0, 0, 1]
        #expect(isClose(PriorSet.logLKJCorrelationCholesky(identity, order: 3, eta: 1), -log(Double.pi * Double.pi / 2), relative: 1e-14))
        let factor = try #require(cholesky3(0.6, -0.2, 0.3))
        #expect(isClose(PriorSet.logLKJCorrelationCholesky(factor, order: 3, eta: 1), -log(Double.pi * Double.pi / 2) + log(factor[4]), relative: 1e-13))
    }

    /// K = 3: the density of R (the density of L divided by its Jacobian L₂₂) integrates to 1 over
    /// the correlations (midpoint rule on a 120³ grid of the cube; for η = 1 the edge of the
    /// elliptope costs about 1% at this grid, for η = 2 the density vanishes there).
    @Test(arguments: [(1.0, 2e-2), (2.0, 2e-3), (3.0, 2e-3)]) func lkjThreeByThreeIntegratesToOne(eta: Double, tolerance: Double) {
        let n = 120
        let h = 2 / Double(n)
        var total = 0.0
        for i in 0..<n {
            let r12 = -1 + (Double(i) + 0.5) * h
            for j in 0..<n {
                let r13 = -1 + (Double(j) + 0.5) * h
                for k in 0..<n {
                    let r23 = -1 + (Double(k) + 0.5) * h
                    guard let factor = cholesky3(r12, r13, r23) else { continue }
                    total += exp(PriorSet.logLKJCorrelationCholesky(factor, order: 3, eta: eta) - log(factor[4]))
                }
            }
        }
        #expect(isClose(total * h * h * h, 1, relative: tolerance))
    }

    /// At R = I every log L_ii is 0, so the log density is −log c_K(η). Compared with the other
    /// closed form of the constant (Lewandowski, Kurowicka & Joe 2009, theorem 5, as Stan's
    /// `do_lkj_constant` writes it), with its own branch for η = 1:
    ///   η ≠ 1: −log c_K = (K−1) lgamma(η + (K−1)/2) − Σ_{k=1}^{K−1} [k/2 log π + lgamma(η + (K−1−k)/2)];
    ///   η = 1: −log c_K = −Σ_{k=1}^{⌊(K−1)/2⌋} lgamma(2k) − (odd K) [(K²−1)/4 log π − (K−1)²/4 log 2 − (K−1) lgamma((K+1)/2)]
    ///                                                     − (even K) [K(K−2)/4 log π + (3K²−4K)/4 log 2 + K lgamma(K/2) − (K−1) lgamma(K)].
    @Test(arguments: [(2, 0.5), (3, 2.0), (4, 2.5), (6, 0.8), (3, 1.0), (4, 1.0), (5, 1.0), (6, 1.0)])
    func lkjIdentityMatchesTheorem5(order: Int, eta: Double) {
        var identity = Array(repeating: 0.0, count: order * order)
        for i in 0..<order { identity[i + i * order] = 1 }
        let k = Double(order), km1 = Double(order - 1)
        var expected: Double
        if eta == 1 {
            expected = -(0..<((order - 1) / 2)).reduce(0.0) { $0 + lgamma(2 * Double($1 + 1)) }
            if order % 2 == 1 {
                expected -= (k * k - 1) / 4 * log(Double.pi) - km1 * km1 / 4 * log(2.0) - km1 * lgamma((k + 1) / 2)
            } else {
                expected -= k * (k - 2) / 4 * log(Double.pi) + (3 * k * k - 4 * k) / 4 * log(2.0) + k * lgamma(k / 2) - km1 * lgamma(k)
            }
        } else {
            expected = km1 * lgamma(eta + km1 / 2)
            for step in 1...(order - 1) {
                expected -= Double(step) / 2 * log(Double.pi) + lgamma(eta + (km1 - Double(step)) / 2)
            }
        }
        #expect(isClose(PriorSet.logLKJCorrelationCholesky(identity, order: order, eta: eta), expected, relative: 1e-12, absolute: 1e-12))
    }

    @Test func lkjEdgeCases() {
        #expect(PriorSet.logLKJCorrelationCholesky([1], order: 1, eta: 2) == 0)
        #expect(PriorSet.logLKJCorrelationCholesky([1, 1, 0, 0], order: 2, eta: 2) == -.infinity)
        #expect(PriorSet.logLKJCorrelationCholesky([1, 0, 0, 1], order: 2, eta: 0).isNaN)
    }
}
