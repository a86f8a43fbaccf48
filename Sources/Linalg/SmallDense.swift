/// Hand-written kernels for the small column-major blocks of the first random-effects term
/// (order 1 to a few): LAPACK's call overhead costs more than the arithmetic there (TOOLCHAIN.md).
public enum SmallDense {
    /// Lower Cholesky of the column-major `order` x `order` block at `a`, in place (lower
    /// triangle). Returns false when a pivot is not positive.
    @inlinable
    public static func choleskyLowerInPlace(_ a: UnsafeMutablePointer<Double>, order n: Int) -> Bool {
        for j in 0..<n {
            var d = a[j + j * n]
            for p in 0..<j { d -= a[j + p * n] * a[j + p * n] }
            guard d > 0, d.isFinite else { return false }
            let ljj = d.squareRoot()
            a[j + j * n] = ljj
            for i in (j + 1)..<max(n, j + 1) {
                var s = a[i + j * n]
                for p in 0..<j { s -= a[i + p * n] * a[j + p * n] }
                a[i + j * n] = s / ljj
            }
        }
        return true
    }

    /// B ← B L⁻ᵀ for a column-major `rows` x `order` block B and lower-triangular L.
    @inlinable
    public static func solveRightLowerTransposed(_ b: UnsafeMutablePointer<Double>, rows r: Int, lower l: UnsafePointer<Double>, order n: Int) {
        // Column j of X = B L⁻ᵀ satisfies X[:, j] L[j, j] = B[:, j] - Σ_{p<j} X[:, p] L[j, p].
        for j in 0..<n {
            let colJ = b + j * r
            for p in 0..<j {
                let ljp = l[j + p * n]
                if ljp == 0 { continue }
                let colP = b + p * r
                for i in 0..<r { colJ[i] -= colP[i] * ljp }
            }
            let inv = 1 / l[j + j * n]
            for i in 0..<r { colJ[i] *= inv }
        }
    }

    /// x ← L⁻¹ x.
    @inlinable
    public static func solveLower(_ l: UnsafePointer<Double>, order n: Int, _ x: UnsafeMutablePointer<Double>) {
        for i in 0..<n {
            var s = x[i]
            for p in 0..<i { s -= l[i + p * n] * x[p] }
            x[i] = s / l[i + i * n]
        }
    }

    /// x ← L⁻ᵀ x.
    @inlinable
    public static func solveLowerTransposed(_ l: UnsafePointer<Double>, order n: Int, _ x: UnsafeMutablePointer<Double>) {
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = x[i]
            for p in (i + 1)..<max(n, i + 1) { s -= l[p + i * n] * x[p] }
            x[i] = s / l[i + i * n]
        }
    }

    /// The lower Cholesky factor of a symmetric k x k matrix (lower triangle read; zeros above
    /// the diagonal), or nil when a pivot is not positive.
    public static func lowerCholesky(_ a: [Double], order k: Int) -> [Double]? {
        var l = a
        let ok = l.withUnsafeMutableBufferPointer { choleskyLowerInPlace($0.baseAddress!, order: k) }
        guard ok else { return nil }
        for c in 0..<k { for r in 0..<c { l[r + c * k] = 0 } }
        return l
    }

    /// L Lᵀ for a lower-triangular L.
    public static func outerOfLower(_ l: [Double], order k: Int) -> [Double] {
        var result = [Double](repeating: 0, count: k * k)
        for r in 0..<k { for c in 0..<k {
            var s = 0.0
            for a in 0...min(r, c) { s += l[r + a * k] * l[c + a * k] }
            result[r + c * k] = s
        } }
        return result
    }

    /// X = L⁻ᵀ B for lower-triangular L and a k x k matrix B (back substitution per column).
    public static func solveLowerTransposed(_ l: [Double], _ b: [Double], order k: Int) -> [Double] {
        var x = b
        l.withUnsafeBufferPointer { lp in
            x.withUnsafeMutableBufferPointer { xp in
                for column in 0..<k { solveLowerTransposed(lp.baseAddress!, order: k, xp.baseAddress! + column * k) }
            }
        }
        return x
    }

    /// L⁻¹ for a lower-triangular L.
    public static func inverseOfLower(_ l: UnsafePointer<Double>, order k: Int) -> [Double] {
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
}
