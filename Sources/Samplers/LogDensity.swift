/// A target density on an unconstrained vector, as a sampler sees it: the log density and its
/// gradient at a point, up to an additive constant.
///
/// Signature: the position comes as a read-only buffer and the gradient goes into a caller-owned
/// buffer of the same length, so a call allocates nothing and the sampler keeps its own storage
/// from iteration to iteration. Both buffers are valid only for the duration of the call.
/// The method is `mutating` so that a value-type model may keep scratch space of its own.
///
/// Edge cases: a returned value that is not finite (NaN, +∞ or -∞) is treated by the samplers as
/// log p = -∞: the state has zero density, a NUTS step into it is a divergence, and nothing
/// crashes. The gradient need not be filled in that case.
public protocol LogDensity {
    /// The number of unconstrained parameters, n.
    var dimension: Int { get }

    /// Returns log p(θ) at `position` θ and writes ∇θ log p(θ) into `gradient`
    /// (`position.count == gradient.count == dimension`).
    mutating func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                                        gradient: UnsafeMutableBufferPointer<Double>) -> Double
}

extension LogDensity {
    /// Convenience for tests and one-off calls: evaluates at `position` and returns both parts
    /// (allocates the gradient array).
    public mutating func evaluate(at position: [Double]) -> (logDensity: Double, gradient: [Double]) {
        var gradient = [Double](repeating: 0, count: position.count)
        let value = position.withUnsafeBufferPointer { theta in
            gradient.withUnsafeMutableBufferPointer { logDensityAndGradient(theta, gradient: $0) }
        }
        return (value, gradient)
    }
}
