import Foundation
import Linalg

/// Stan's `cholesky_corr` transform: k(k − 1)/2 unconstrained values y ↦ the lower Cholesky factor
/// W of a k x k correlation matrix R = W Wᵀ (docs/math.md, eq. 26-27).
///
/// y lists W's strict lower triangle row by row (y₁₀, y₂₀, y₂₁, …). Canonical partial correlations
/// z_ij = tanh(y_ij) fill W: W₀₀ = 1; for i ≥ 1, W_ij = z_ij √(1 − Σ_{c<j} W_ic²) (j < i) and
/// W_ii = √(1 − Σ_{c<i} W_ic²). Every row has unit length, and W_ii > 0 for finite y.
///
/// The log-Jacobian is that of y ↦ W's strict lower triangle (Stan's `cholesky_corr_constrain`):
/// Σ_{i>j} [log(1 − z_ij²) + ½ log(1 − Σ_{c<j} W_ic²)]. Together with the LKJ density on the
/// Cholesky factor (`PriorSet.logLKJCorrelationCholesky`, which carries the Jacobian of W ↦ R)
/// it gives eq. 27.
public struct CorrelationCholeskyTransform: Sendable, Equatable {
    /// k.
    public let order: Int
    /// W, column-major k x k, zero above the diagonal.
    public private(set) var factor: [Double]
    /// log W_ii, i = 0 … k − 1 (log W₀₀ = 0).
    public private(set) var logDiagonal: [Double]
    /// log |∂ W's strict lower triangle / ∂y|.
    public private(set) var logJacobian: Double
    /// Per unconstrained value m: ∂W/∂y_m (column-major k x k).
    public private(set) var factorDerivatives: [[Double]]
    /// Per m: ∂ logJacobian / ∂y_m.
    public private(set) var logJacobianGradient: [Double]
    /// Per m: ∂ log W_ii / ∂y_m for every i.
    public private(set) var logDiagonalDerivatives: [[Double]]

    /// Number of unconstrained values of a k x k correlation matrix.
    public static func dimension(order k: Int) -> Int { k * (k - 1) / 2 }

    /// Evaluates W, its log-Jacobian and their derivatives at `y` (forward mode: every row of W
    /// depends only on that row's entries of y, so each derivative is one pass over one row).
    public init<C: Collection<Double>>(_ y: C, order k: Int) where C.Index == Int {
        precondition(k >= 1 && y.count == Self.dimension(order: k))
        order = k
        let count = Self.dimension(order: k)
        var w = [Double](repeating: 0, count: k * k)
        var logDiagonal = [Double](repeating: 0, count: k)
        var logJacobian = 0.0
        var dW = [[Double]](repeating: [Double](repeating: 0, count: k * k), count: count)
        var dLogJacobian = [Double](repeating: 0, count: count)
        var dLogDiagonal = [[Double]](repeating: [Double](repeating: 0, count: k), count: count)
        w[0] = 1
        var rowStart = 0   // index in y of (i, 0)
        for i in 1..<max(k, 1) {
            var z = [Double](repeating: 0, count: i)
            var remaining = [Double](repeating: 1, count: i + 1)   // remaining[j] = 1 − Σ_{c<j} W_ic²
            for j in 0..<i {
                z[j] = tanh(y[y.startIndex + rowStart + j])
                let value = z[j] * remaining[j].squareRoot()
                w[i + j * k] = value
                logJacobian += log1p(-z[j] * z[j]) + 0.5 * log(remaining[j])
                remaining[j + 1] = remaining[j] - value * value
            }
            let last = max(remaining[i], 0)
            w[i + i * k] = last.squareRoot()
            logDiagonal[i] = 0.5 * log(last)
            // Derivatives with respect to y_{i,m}: entries j < m do not move.
            for m in 0..<i {
                let index = rowStart + m
                var dRemaining = 0.0   // d remaining[j] at the current j
                for j in m..<i {
                    let root = remaining[j].squareRoot()
                    let dValue: Double
                    if j == m {
                        dValue = (1 - z[j] * z[j]) * root
                        dLogJacobian[index] += -2 * z[j]
                    } else {
                        dValue = z[j] * dRemaining / (2 * root)
                        dLogJacobian[index] += 0.5 * dRemaining / remaining[j]
                    }
                    dW[index][i + j * k] = dValue
                    dRemaining -= 2 * w[i + j * k] * dValue
                }
                dW[index][i + i * k] = dRemaining / (2 * w[i + i * k])
                dLogDiagonal[index][i] = 0.5 * dRemaining / last
            }
            rowStart += i
        }
        factor = w
        self.logDiagonal = logDiagonal
        self.logJacobian = logJacobian
        factorDerivatives = dW
        logJacobianGradient = dLogJacobian
        logDiagonalDerivatives = dLogDiagonal
    }

    /// The y of a correlation matrix given by its lower Cholesky factor W (rows of unit length,
    /// positive diagonal): the inverse of the transform, y_ij = atanh(W_ij / √(1 − Σ_{c<j} W_ic²)).
    public static func unconstrain(factor w: [Double], order k: Int) -> [Double] {
        precondition(w.count == k * k)
        var y: [Double] = []
        y.reserveCapacity(dimension(order: k))
        for i in 1..<max(k, 1) {
            var remaining = 1.0
            for j in 0..<i {
                let value = w[i + j * k]
                y.append(atanh(value / remaining.squareRoot()))
                remaining -= value * value
            }
        }
        return y
    }

    /// The y of a correlation matrix R (column-major k x k, symmetric positive definite with unit
    /// diagonal), through its lower Cholesky factor; nil when R is not positive definite.
    public static func unconstrain(correlation r: [Double], order k: Int) -> [Double]? {
        guard let w = SmallDense.lowerCholesky(r, order: k) else { return nil }
        return unconstrain(factor: w, order: k)
    }
}
