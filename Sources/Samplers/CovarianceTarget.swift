import Foundation
import Linalg

/// The full conditional of one vector random-effects term's covariance Σ = diag(τ) R diag(τ),
/// given its coefficients (docs/math.md, eq. 25-28), on an unconstrained vector x:
///
///   x = [log τ₁ … log τ_k, atanh z₁₀, atanh z₂₀, atanh z₂₁, …],
///
/// where z_ij (i > j, row by row) are the canonical partial correlations that fill the lower
/// Cholesky factor W of R (eq. 26). The target needs only the k x k scatter matrix
/// S = Σ_h b_h b_hᵀ and the number of levels ℓ, so its cost does not depend on the data.
public struct CovarianceTarget: Sendable {
    /// k, the number of coefficients.
    public let order: Int
    /// Σ_h b_h b_hᵀ, column-major k x k.
    public let scatter: [Double]
    /// ℓ, the number of levels summed in `scatter`.
    public let levelCount: Int
    /// Half-Cauchy scales of τ.
    public let scales: [Double]
    /// LKJ shape η.
    public let eta: Double

    public init(scatter: [Double], levelCount: Int, scales: [Double], eta: Double) {
        let k = scales.count
        precondition(k >= 2 && scatter.count == k * k && levelCount >= 0 && eta > 0)
        order = k
        self.scatter = scatter
        self.levelCount = levelCount
        self.scales = scales
        self.eta = eta
    }

    /// Length of x: k SDs and k(k − 1)/2 partial correlations.
    public var dimension: Int { order * (order + 1) / 2 }

    /// The lower Cholesky factor diag(τ) W of Σ at x (column-major k x k).
    public func covarianceFactor(_ x: [Double]) -> [Double] {
        Self.covarianceFactor(x, order: order)
    }

    /// diag(τ) W at coordinates x of the layout above, for k = `order` (k = 1: [τ]).
    static func covarianceFactor(_ x: [Double], order k: Int) -> [Double] {
        var w = [Double](repeating: 0, count: k * k)
        var logDiagonal = [Double](repeating: 0, count: k)
        x.withUnsafeBufferPointer { x in
            w.withUnsafeMutableBufferPointer { w in
                logDiagonal.withUnsafeMutableBufferPointer { d in
                    _ = Self.fillCorrelationFactor(x.baseAddress!, order: k, factor: w.baseAddress!, logDiagonal: d.baseAddress!)
                }
            }
        }
        for r in 0..<k {
            let tau = exp(x[r])
            for c in 0...r { w[r + c * k] *= tau }
        }
        return w
    }

    /// Σ = L Lᵀ at x (column-major k x k).
    public func covariance(_ x: [Double]) -> [Double] {
        SmallDense.outerOfLower(covarianceFactor(x), order: order)
    }

    /// The unconstrained x of a covariance given by its lower Cholesky factor `factor` (the
    /// inverse of `covarianceFactor`).
    public static func unconstrained(factor l: [Double], order k: Int) -> [Double] {
        var x = [Double](repeating: 0, count: k * (k + 1) / 2)
        var tau = [Double](repeating: 0, count: k)
        for r in 0..<k {
            var s = 0.0
            for c in 0...r { s += l[r + c * k] * l[r + c * k] }
            tau[r] = s.squareRoot()
            x[r] = log(tau[r])
        }
        var position = k
        for i in 1..<k {
            var remaining = 1.0   // 1 − Σ_{c<j} W[i,c]²
            for j in 0..<i {
                let w = l[i + j * k] / tau[i]
                x[position] = atanh(w / remaining.squareRoot())
                remaining -= w * w
                position += 1
            }
        }
        return x
    }

    /// W from the partial correlations in x (eq. 26-27), into caller-owned storage: writes W
    /// (k x k, column-major, upper triangle zeroed) and log W_ii (k values), returns the
    /// log-Jacobian of atanh z → W's strict lower triangle.
    static func fillCorrelationFactor(_ x: UnsafePointer<Double>, order k: Int,
                                      factor w: UnsafeMutablePointer<Double>, logDiagonal: UnsafeMutablePointer<Double>) -> Double {
        w.update(repeating: 0, count: k * k)
        logDiagonal.update(repeating: 0, count: k)
        var logJacobian = 0.0
        w[0] = 1
        var position = k
        for i in 1..<k {
            var remaining = 1.0
            for j in 0..<i {
                let z = tanh(x[position])
                position += 1
                // d tanh / dy = 1 − z², and ∂W_ij/∂z_ij = √(1 − Σ_{c<j} W_ic²).
                logJacobian += log1p(-z * z) + 0.5 * log(remaining)
                let value = z * remaining.squareRoot()
                w[i + j * k] = value
                remaining -= value * value
            }
            remaining = max(remaining, 0)
            w[i + i * k] = remaining.squareRoot()
            logDiagonal[i] = 0.5 * log(remaining)
        }
        return logJacobian
    }

    /// Doubles of scratch `logDensity(_:workspace:)` needs: 4k² + k.
    public var workspaceCount: Int { 4 * order * order + order }

    /// log p(x | b) up to a constant (eq. 28): the N(0, Σ) likelihood of the ℓ coefficient
    /// vectors, half-Cauchy priors on τ and LKJ(η) on R, with the Jacobians of x → (τ, R).
    /// −∞ where W is singular.
    public func logDensity(_ x: [Double]) -> Double {
        var workspace = [Double](repeating: 0, count: workspaceCount)
        return x.withUnsafeBufferPointer { x in
            workspace.withUnsafeMutableBufferPointer { logDensity(x.baseAddress!, workspace: $0.baseAddress!) }
        }
    }

    /// `logDensity(_:)` without allocating: `workspace` holds `workspaceCount` doubles of scratch.
    /// The slice steps of a Gibbs sweep call this a few dozen times per term (same arithmetic, so
    /// the same bits, as the array form).
    public func logDensity(_ x: UnsafePointer<Double>, workspace: UnsafeMutablePointer<Double>) -> Double {
        let k = order
        let kk = k * k
        let w = workspace, l = workspace + kk, m = workspace + 2 * kk, mt = workspace + 3 * kk
        let logDiagonal = workspace + 4 * kk
        let logJacobianZ = Self.fillCorrelationFactor(x, order: k, factor: w, logDiagonal: logDiagonal)
        var logDetW = 0.0
        for i in 1..<k {
            guard logDiagonal[i].isFinite else { return -.infinity }
            logDetW += logDiagonal[i]
        }
        // L = diag(τ) W; tr(Σ⁻¹ S) = ‖L⁻¹ C‖²_F for any C with C Cᵀ = S, here via L⁻¹ S L⁻ᵀ.
        l.update(from: w, count: kk)
        var sumLogTau = 0.0
        for r in 0..<k {
            sumLogTau += x[r]
            let tau = exp(x[r])
            for c in 0...r { l[r + c * k] *= tau }
        }
        scatter.withUnsafeBufferPointer { m.update(from: $0.baseAddress!, count: kk) }
        // m ← L⁻¹ S (columns), then m ← L⁻¹ mᵀ; the trace of the result is tr(Σ⁻¹ S).
        for column in 0..<k { Self.forwardSolve(l, order: k, m, column: column) }
        for r in 0..<k { for c in 0..<k { mt[r + c * k] = m[c + r * k] } }
        var trace = 0.0
        for column in 0..<k {
            Self.forwardSolve(l, order: k, mt, column: column)
            trace += mt[column + column * k]
        }
        let ell = Double(levelCount)
        // log|Σ| = 2 Σ log τ + 2 Σ log W_ii.
        var value = -ell * (sumLogTau + logDetW) - 0.5 * trace
        // Half-Cauchy on τ_r with the Jacobian τ_r of log τ_r.
        scales.withUnsafeBufferPointer { scales in
            for r in 0..<k {
                let ratio = exp(x[r]) / scales[r]
                value += -log1p(ratio * ratio) + x[r]
            }
        }
        // LKJ: |R|^(η−1) = Π W_ii^(2(η−1)); the Jacobian of W's strict lower triangle → R's
        // off-diagonal is Π_i W_ii^(k−i−1) (0-based i).
        for i in 1..<k { value += (2 * (eta - 1) + Double(k - i - 1)) * logDiagonal[i] }
        return value + logJacobianZ
    }

    /// Column `column` of `b` ← L⁻¹ times it (L lower, column-major k x k).
    private static func forwardSolve(_ l: UnsafePointer<Double>, order k: Int, _ b: UnsafeMutablePointer<Double>, column: Int) {
        let base = column * k
        for r in 0..<k {
            var s = b[base + r]
            for c in 0..<r { s -= l[r + c * k] * b[base + c] }
            b[base + r] = s / l[r + r * k]
        }
    }
}
