/// What one blocked factorization costs, from the layout alone (docs/decisions.md, "--algorithm
/// auto: the cost model"): the REML fit pays it once per objective evaluation, the blocked Gibbs
/// sampler once per sweep.
extension BlockedLayout {
    /// Floating-point operations of the dense part's Cholesky factorization, d³/3 for d =
    /// `denseDimension`.
    public var denseFactorizationFlops: Double {
        let d = Double(denseDimension)
        return d * d * d / 3
    }

    /// Floating-point operations of the dense part's downdate by the first part's groups (the
    /// fill-in of eq. 4): group g's pattern of r_g rows costs r_g² k (k = `groupSize`).
    public var downdateFlops: Double {
        var flops = 0.0
        for g in 0..<groupCount {
            let r = Double(patternCount(g))
            flops += r * r
        }
        return flops * Double(groupSize)
    }

    /// Bytes of one `BlockedCholesky` of this layout (its diagonal, off-diagonal and dense
    /// blocks).
    public var factorBytes: Double {
        let k = Double(groupSize), d = Double(denseDimension)
        return 8 * (Double(groupCount) * k * k + Double(patternRows.count) * k + d * d)
    }
}

/// The largest blocked factor mixmc starts to work with. Past it a REML fit or a blocked Gibbs
/// run could not finish in reasonable time or memory (two crossed factors of 20,000 and 5,000
/// levels: a 5,000 x 5,000 dense part whose factorization takes about a second), so they refuse
/// before starting and name what can do it instead.
public struct BlockedFactorBudget: Sendable, Equatable {
    /// At most this many floating-point operations per factorization (dense Cholesky plus
    /// downdate): 2e10 is about 0.5 s on one core of this machine (OpenBLAS `dpotrf` runs at ~45
    /// GFLOP/s, docs/benchmarks.md), so a 4 x (1000 + 1000) blocked run on two cores stays under
    /// about half an hour; a dense part of order ~3,900 reaches it.
    public var maximumFlops: Double
    /// At most this many bytes per factor: every chain holds one, so four chains of the largest
    /// take 8 GiB, a third of this machine's 24.
    public var maximumBytes: Double

    public init(maximumFlops: Double, maximumBytes: Double) {
        self.maximumFlops = maximumFlops
        self.maximumBytes = maximumBytes
    }

    public static let standard = BlockedFactorBudget(maximumFlops: 2e10, maximumBytes: 2 * 1_073_741_824)

    /// Why `layout` is over the budget (nil when it is within it), for a message that goes on to
    /// name what can do the work instead.
    public func excess(_ layout: BlockedLayout) -> String? {
        let flops = layout.denseFactorizationFlops + layout.downdateFlops
        let bytes = layout.factorBytes
        guard flops > maximumFlops || bytes > maximumBytes else { return nil }
        let d = layout.denseDimension
        return "its blocked Cholesky factor would have a dense part of \(d) x \(d): "
            + "\(Self.scientific(flops)) floating-point operations a factorization (budget \(Self.scientific(maximumFlops)), "
            + "about half a second on one core) and \(Self.mebibytes(bytes)) MiB a factor (budget \(Self.mebibytes(maximumBytes)) MiB)"
    }

    static func mebibytes(_ bytes: Double) -> String { String(Int((bytes / 1_048_576).rounded())) }

    static func scientific(_ value: Double) -> String {
        var exponent = 0
        var mantissa = value
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        return "\((mantissa * 10).rounded() / 10)e\(exponent)"
    }
}
