import Foundation
import Linalg
import Testing
import TestSupport
@testable import Samplers

@Suite struct HamiltonianTests {
    /// One leapfrog step on log p = -q²/2 with unit metric, against the closed form:
    /// p½ = p + ε/2 · (-q), q₁ = q + ε p½, p₁ = p½ + ε/2 · (-q₁).
    @Test func leapfrogStepMatchesClosedForm() {
        var system = LeapfrogSystem(target: StandardNormal(dimension: 2), metric: .unit(dimension: 2, kind: .diagonal))
        var point = PhasePoint(dimension: 2)
        point.position = [0.7, -1.2]
        point.momentum = [0.3, 0.5]
        system.evaluate(&point)
        let epsilon = 0.4
        system.step(&point, stepSize: epsilon)
        for (i, (q, p)) in [(0.7, 0.3), (-1.2, 0.5)].enumerated() {
            let pHalf = p - 0.5 * epsilon * q
            let q1 = q + epsilon * pHalf
            let p1 = pHalf - 0.5 * epsilon * q1
            #expect(abs(point.position[i] - q1) < 1e-15)
            #expect(abs(point.momentum[i] - p1) < 1e-15)
            #expect(point.gradient[i] == -point.position[i])
        }
    }

    /// Leapfrog is time-reversible: a step of +ε then -ε returns to the start (to rounding),
    /// here with a dense metric so that M⁻¹ enters the position update.
    @Test func leapfrogIsReversibleWithDenseMetric() throws {
        let metric = try #require(EuclideanMetric(dense: Matrix([[2, 0.6], [0.6, 0.5]])))
        var system = LeapfrogSystem(target: CorrelatedGaussian(rho: 0.8), metric: metric)
        var point = PhasePoint(dimension: 2)
        point.position = [0.4, -0.9]
        point.momentum = [1.1, 0.2]
        system.evaluate(&point)
        let start = point
        for _ in 0..<10 { system.step(&point, stepSize: 0.1) }
        for _ in 0..<10 { system.step(&point, stepSize: -0.1) }
        for i in 0..<2 {
            #expect(abs(point.position[i] - start.position[i]) < 1e-13)
            #expect(abs(point.momentum[i] - start.momentum[i]) < 1e-13)
        }
    }

    /// p ~ N(0, M) with M = (M⁻¹)⁻¹: for M⁻¹ = [[1, .9], [.9, 1]], M = [[1, -.9], [-.9, 1]] / 0.19.
    /// Each sample moment within 4 standard errors, sd(Ĉᵢⱼ) = √((MᵢᵢMⱼⱼ + Mᵢⱼ²)/n).
    /// Also T(p) = ½ p · p♯ with p♯ = M⁻¹ p.
    @Test func denseMomentumHasCovarianceM() throws {
        let metric = try #require(EuclideanMetric(dense: Matrix([[1, 0.9], [0.9, 1]])))
        let random = RandomStream(seed: 8, chain: 1)
        let n = 100_000
        var sums = [0.0, 0.0, 0.0]
        var momentum = [0.0, 0.0], velocity = [0.0, 0.0]
        for _ in 0..<n {
            metric.sampleMomentum(into: &momentum, random: random)
            sums[0] += momentum[0] * momentum[0]
            sums[1] += momentum[0] * momentum[1]
            sums[2] += momentum[1] * momentum[1]
        }
        let m = [1 / 0.19, -0.9 / 0.19, 1 / 0.19]
        let pairs = [(0, 0), (0, 1), (1, 1)]
        let full = [[m[0], m[1]], [m[1], m[2]]]
        for (k, (i, j)) in pairs.enumerated() {
            let sd = ((full[i][i] * full[j][j] + full[i][j] * full[i][j]) / Double(n)).squareRoot()
            #expect(abs(sums[k] / Double(n) - m[k]) < 4 * sd)
        }
        metric.velocity([0.3, -0.4], into: &velocity)
        #expect(velocity == [0.3 - 0.9 * 0.4, 0.9 * 0.3 - 0.4])
        #expect(abs(metric.kineticEnergy([0.3, -0.4]) - 0.5 * (0.3 * velocity[0] - 0.4 * velocity[1])) < 1e-15)
    }

    @Test func diagonalMomentumHasVarianceOneOverInverseMass() throws {
        let metric = try #require(EuclideanMetric(diagonal: [4, 0.25]))
        let random = RandomStream(seed: 8, chain: 2)
        let n = 100_000
        var momentum = [0.0, 0.0]
        var squares = [0.0, 0.0]
        for _ in 0..<n {
            metric.sampleMomentum(into: &momentum, random: random)
            squares[0] += momentum[0] * momentum[0]
            squares[1] += momentum[1] * momentum[1]
        }
        // Var(p²) = 2 Mᵢᵢ² for a normal.
        for (i, mass) in [0.25, 4.0].enumerated() {
            #expect(abs(squares[i] / Double(n) - mass) < 4 * (2 * mass * mass / Double(n)).squareRoot())
        }
    }

    @Test func invalidMetricsAreRejected() {
        #expect(EuclideanMetric(diagonal: [1, 0]) == nil)
        #expect(EuclideanMetric(diagonal: [1, .nan]) == nil)
        #expect(EuclideanMetric(dense: Matrix([[1, 2], [2, 1]])) == nil)
    }

    /// Stan's step-size heuristic on a 1-d standard normal with unit metric: one leapfrog step
    /// of size ε has energy error depending on (q, p); the heuristic stops at a power of two
    /// times the starting ε, and leaves the chain's state untouched.
    @Test func stepSizeHeuristicReturnsPowerOfTwoAndKeepsState() throws {
        let sampler = try NUTSSampler(target: StandardNormal(dimension: 1), initialPosition: [0.3],
                                      random: RandomStream(seed: 4, chain: 1))
        let before = sampler.state.position
        try sampler.initializeStepSize()
        let exponent = log2(sampler.stepSize)
        #expect(exponent == exponent.rounded())
        #expect(sampler.state.position == before)
    }
}
