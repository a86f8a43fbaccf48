/// A point z = (q, p) of phase space together with the quantities a leapfrog step reuses:
/// log p(q) and ∇ log p(q) at the position (Stan's `ps_point`, with V = -log p).
public struct PhasePoint: Sendable, Equatable {
    /// Position q (θ, the unconstrained parameters).
    public var position: [Double]
    /// Momentum p.
    public var momentum: [Double]
    /// ∇ log p(q).
    public var gradient: [Double]
    /// log p(q); -∞ when the target returned a non-finite value.
    public var logDensity: Double

    public init(dimension: Int) {
        position = [Double](repeating: 0, count: dimension)
        momentum = position
        gradient = position
        logDensity = 0
    }

    public var dimension: Int { position.count }

    /// Copies `other` element by element into this point's existing storage, so that hot loops
    /// reuse buffers instead of sharing (and later copying) them.
    mutating func assign(_ other: PhasePoint) {
        copyElements(other.position, into: &position)
        copyElements(other.momentum, into: &momentum)
        copyElements(other.gradient, into: &gradient)
        logDensity = other.logDensity
    }
}

/// Copies `source` into `destination` element-wise (same length), keeping `destination`'s buffer.
@inline(__always)
func copyElements(_ source: [Double], into destination: inout [Double]) {
    destination.withUnsafeMutableBufferPointer { d in
        source.withUnsafeBufferPointer { s in
            for i in s.indices { d[i] = s[i] }
        }
    }
}

/// a · b.
@inline(__always)
func dot(_ a: [Double], _ b: [Double]) -> Double {
    a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
            var sum = 0.0
            for i in x.indices { sum += x[i] * y[i] }
            return sum
        }
    }
}

/// result = a + b, element-wise, into `result`'s existing buffer. One exclusive access per
/// array for the whole loop: element-wise access to a class's array property would check
/// exclusivity on every element.
@inline(__always)
func addElements(_ a: [Double], _ b: [Double], into result: inout [Double]) {
    result.withUnsafeMutableBufferPointer { r in
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in r.indices { r[i] = x[i] + y[i] }
            }
        }
    }
}

/// result += a, element-wise.
@inline(__always)
func addElements(_ a: [Double], into result: inout [Double]) {
    result.withUnsafeMutableBufferPointer { r in
        a.withUnsafeBufferPointer { x in
            for i in r.indices { r[i] += x[i] }
        }
    }
}
