import CNumerics
import Linalg

/// Which Euclidean metric NUTS adapts: diagonal (Stan's default `diag_e`) or dense (`dense_e`).
public enum MetricKind: String, Sendable, CaseIterable {
    case diagonal
    case dense
}

/// The inverse mass matrix M⁻¹ of the Euclidean kinetic energy T(p) = ½ pᵀ M⁻¹ p, the quantity
/// Stan reports as "inverse mass matrix" and that warmup estimates as the posterior covariance.
///
/// Momenta are drawn as p ~ N(0, M); the velocity ("sharp momentum") is p♯ = ∂T/∂p = M⁻¹ p.
public struct EuclideanMetric: Sendable, Equatable {
    public enum InverseMass: Sendable, Equatable {
        /// The diagonal of M⁻¹ (every element > 0).
        case diagonal([Double])
        /// The full symmetric positive definite M⁻¹.
        case dense(Matrix)
    }

    public let inverseMass: InverseMass
    /// For a dense metric, the lower Cholesky factor L with M⁻¹ = L Lᵀ (column-major, upper
    /// triangle zero); momenta are drawn as p = L⁻ᵀ u with u ~ N(0, I), so Cov(p) = M.
    /// For a diagonal metric, the element-wise 1/√(M⁻¹ᵢᵢ) used to scale normal draws.
    private let momentumScale: [Double]

    public var dimension: Int {
        switch inverseMass {
        case .diagonal(let d): return d.count
        case .dense(let m): return m.rows
        }
    }

    public var kind: MetricKind {
        switch inverseMass {
        case .diagonal: return .diagonal
        case .dense: return .dense
        }
    }

    /// The identity metric of `kind` in `dimension` dimensions (Stan's initial metric).
    public static func unit(dimension: Int, kind: MetricKind) -> EuclideanMetric {
        switch kind {
        case .diagonal: return EuclideanMetric(diagonal: [Double](repeating: 1, count: dimension))!
        case .dense: return EuclideanMetric(dense: Matrix.identity(dimension))!
        }
    }

    /// A diagonal metric; nil unless every element is finite and positive.
    public init?(diagonal inverseMassDiagonal: [Double]) {
        guard inverseMassDiagonal.allSatisfy({ $0.isFinite && $0 > 0 }) else { return nil }
        inverseMass = .diagonal(inverseMassDiagonal)
        momentumScale = inverseMassDiagonal.map { 1 / $0.squareRoot() }
    }

    /// A dense metric; nil unless `inverse` is square, finite and positive definite.
    public init?(dense inverse: Matrix) {
        let n = inverse.rows
        guard inverse.columns == n, inverse.storage.allSatisfy({ $0.isFinite }) else { return nil }
        var factor = inverse.storage
        let info = factor.withUnsafeMutableBufferPointer {
            LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), $0.baseAddress, Int32(Swift.max(n, 1)))
        }
        guard info == 0 else { return nil }
        for j in 0..<n { for i in 0..<j { factor[i + j * n] = 0 } }
        inverseMass = .dense(inverse)
        momentumScale = factor
    }

    /// T(p) = ½ pᵀ M⁻¹ p.
    public func kineticEnergy(_ momentum: [Double]) -> Double {
        switch inverseMass {
        case .diagonal(let d):
            var sum = 0.0
            for i in momentum.indices { sum += momentum[i] * momentum[i] * d[i] }
            return 0.5 * sum
        case .dense(let m):
            let n = m.rows
            var sum = 0.0
            for j in 0..<n {
                var column = 0.0
                for i in 0..<n { column += m.storage[i + j * n] * momentum[i] }
                sum += column * momentum[j]
            }
            return 0.5 * sum
        }
    }

    /// Writes the velocity p♯ = M⁻¹ p into `velocity`.
    public func velocity(_ momentum: [Double], into velocity: inout [Double]) {
        switch inverseMass {
        case .diagonal(let d):
            for i in momentum.indices { velocity[i] = d[i] * momentum[i] }
        case .dense(let m):
            let n = m.rows
            for i in 0..<n { velocity[i] = 0 }
            for j in 0..<n {
                let pj = momentum[j]
                for i in 0..<n { velocity[i] += m.storage[i + j * n] * pj }
            }
        }
    }

    /// Draws p ~ N(0, M) into `momentum`, consuming `dimension` standard normals in index order.
    public func sampleMomentum(into momentum: inout [Double], random: some RandomSource) {
        for i in momentum.indices { momentum[i] = random.standardNormal() }
        switch inverseMass {
        case .diagonal:
            for i in momentum.indices { momentum[i] *= momentumScale[i] }
        case .dense(let m):
            // p = L⁻ᵀ u: solve Lᵀ p = u in place.
            let n = m.rows
            momentumScale.withUnsafeBufferPointer { factor in
                momentum.withUnsafeMutableBufferPointer { p in
                    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, Int32(n),
                                factor.baseAddress, Int32(Swift.max(n, 1)), p.baseAddress, 1)
                }
            }
        }
    }

    /// The diagonal of M⁻¹ (for a dense metric, its diagonal elements).
    public var inverseMassDiagonal: [Double] {
        switch inverseMass {
        case .diagonal(let d): return d
        case .dense(let m): return (0..<m.rows).map { m[$0, $0] }
        }
    }
}
