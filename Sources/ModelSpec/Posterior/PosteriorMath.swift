import Foundation

/// Small column-major k x k helpers for the covariance parameters of one term (k is the number
/// of coefficients of a random-effects term: 1 to a few).
enum PosteriorMath {
    /// The lower Cholesky factor of a symmetric k x k matrix (lower triangle read), or nil when a
    /// pivot is not positive.
    static func lowerCholesky(_ a: [Double], order k: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: k * k)
        for j in 0..<k {
            var d = a[j + j * k]
            for p in 0..<j { d -= l[j + p * k] * l[j + p * k] }
            guard d > 0, d.isFinite else { return nil }
            let ljj = d.squareRoot()
            l[j + j * k] = ljj
            for i in (j + 1)..<max(k, j + 1) {
                var s = a[i + j * k]
                for p in 0..<j { s -= l[i + p * k] * l[j + p * k] }
                l[i + j * k] = s / ljj
            }
        }
        return l
    }

    /// L Lᵀ for a lower-triangular L.
    static func outerOfLower(_ l: [Double], order k: Int) -> [Double] {
        var result = [Double](repeating: 0, count: k * k)
        for r in 0..<k { for c in 0..<k {
            var s = 0.0
            for a in 0...min(r, c) { s += l[r + a * k] * l[c + a * k] }
            result[r + c * k] = s
        } }
        return result
    }

    /// X = L⁻ᵀ B for lower-triangular L and a k x k matrix B (back substitution per column).
    static func solveLowerTransposed(_ l: [Double], _ b: [Double], order k: Int) -> [Double] {
        var x = b
        for column in 0..<k {
            let base = column * k
            for i in stride(from: k - 1, through: 0, by: -1) {
                var s = x[base + i]
                for p in (i + 1)..<max(k, i + 1) { s -= l[p + i * k] * x[base + p] }
                x[base + i] = s / l[i + i * k]
            }
        }
        return x
    }

    /// L⁻¹ for a lower-triangular L.
    static func inverseOfLower(_ l: UnsafePointer<Double>, order k: Int) -> [Double] {
        var inverse = [Double](repeating: 0, count: k * k)
        for column in 0..<k {
            inverse[column + column * k] = 1 / l[column + column * k]
            for i in (column + 1)..<max(k, column + 1) {
                var s = 0.0
                for p in column..<i { s += l[i + p * k] * inverse[p + column * k] }
                inverse[i + column * k] = -s / l[i + i * k]
            }
        }
        return inverse
    }

    /// d/d log x of log half-Cauchy(x | 0, scale) + log x (the prior on the log scale with its
    /// Jacobian): 1 − 2 (x/s)² / (1 + (x/s)²).
    static func halfCauchyLogScaleGradient(_ x: Double, scale: Double) -> Double {
        let ratio = x / scale
        let square = ratio * ratio
        return 1 - 2 * square / (1 + square)
    }
}
