/// What the NUTS tree needs from the dynamics: one integrator step, the Hamiltonian, the
/// velocity p♯ and a momentum draw. `LeapfrogSystem` is the real one; tree tests put a scripted
/// system here so that momenta and energies along a trajectory are chosen by hand.
public protocol HamiltonianSystem {
    var dimension: Int { get }

    /// Advances `point` by one integrator step of signed size `stepSize` (negative: backward in
    /// time), leaving its log density and gradient consistent with the new position.
    mutating func step(_ point: inout PhasePoint, stepSize: Double)

    /// H(z) = V(q) + T(p) with V = -log p; +∞ when log p is not finite.
    func hamiltonian(_ point: PhasePoint) -> Double

    /// Writes p♯ = ∂T/∂p (M⁻¹ p for a Euclidean metric) into `velocity`.
    func velocity(_ point: PhasePoint, into velocity: inout [Double])

    /// Replaces the momentum of `point` by a fresh draw p ~ N(0, M).
    func sampleMomentum(_ point: inout PhasePoint, random: some RandomSource)

    /// Sets log p and ∇ log p at the current position of `point` (Stan's `hamiltonian.init`).
    mutating func evaluate(_ point: inout PhasePoint)
}

/// Stan's explicit leapfrog (`expl_leapfrog`) for a Euclidean metric: half step of momentum,
/// full step of position, gradient at the new position, half step of momentum.
public struct LeapfrogSystem<Target: LogDensity>: HamiltonianSystem {
    public var target: Target
    public var metric: EuclideanMetric
    /// Scratch for p♯ in the position update, kept to avoid an allocation per step.
    private var velocityScratch: [Double]

    public init(target: Target, metric: EuclideanMetric) {
        precondition(metric.dimension == target.dimension, "metric and target dimensions differ")
        self.target = target
        self.metric = metric
        velocityScratch = [Double](repeating: 0, count: target.dimension)
    }

    public var dimension: Int { target.dimension }

    public mutating func step(_ point: inout PhasePoint, stepSize: Double) {
        let half = 0.5 * stepSize
        let n = point.dimension
        point.momentum.withUnsafeMutableBufferPointer { p in
            point.gradient.withUnsafeBufferPointer { g in
                for i in 0..<n { p[i] += half * g[i] }
            }
        }
        metric.velocity(point.momentum, into: &velocityScratch)
        point.position.withUnsafeMutableBufferPointer { q in
            velocityScratch.withUnsafeBufferPointer { v in
                for i in 0..<n { q[i] += stepSize * v[i] }
            }
        }
        evaluate(&point)
        point.momentum.withUnsafeMutableBufferPointer { p in
            point.gradient.withUnsafeBufferPointer { g in
                for i in 0..<n { p[i] += half * g[i] }
            }
        }
    }

    public mutating func evaluate(_ point: inout PhasePoint) {
        let value = point.position.withUnsafeBufferPointer { q in
            point.gradient.withUnsafeMutableBufferPointer { g in
                target.logDensityAndGradient(q, gradient: g)
            }
        }
        // Any non-finite value is a state of zero density: H = +∞, which the tree reads as a
        // divergence rather than letting NaN reach the comparisons.
        point.logDensity = value.isFinite ? value : -.infinity
    }

    public func hamiltonian(_ point: PhasePoint) -> Double {
        guard point.logDensity.isFinite else { return .infinity }
        let h = -point.logDensity + metric.kineticEnergy(point.momentum)
        return h.isNaN ? .infinity : h
    }

    public func velocity(_ point: PhasePoint, into velocity: inout [Double]) {
        metric.velocity(point.momentum, into: &velocity)
    }

    public func sampleMomentum(_ point: inout PhasePoint, random: some RandomSource) {
        metric.sampleMomentum(into: &point.momentum, random: random)
    }
}
