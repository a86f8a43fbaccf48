import Foundation

/// Derivatives of the prior terms shared by the log-posterior forms (the k x k matrix helpers
/// live in Linalg's `SmallDense`).
enum PosteriorMath {
    /// d/d log x of log half-Cauchy(x | 0, scale) + log x (the prior on the log scale with its
    /// Jacobian): 1 − 2 (x/s)² / (1 + (x/s)²).
    static func halfCauchyLogScaleGradient(_ x: Double, scale: Double) -> Double {
        let ratio = x / scale
        let square = ratio * ratio
        return 1 - 2 * square / (1 + square)
    }
}
