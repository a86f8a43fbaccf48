import Linalg

extension CrossProducts {
    /// Loads `Λᵀ A Λ + I_q` into `factor`'s storage, ready for `factorize()` (docs/math.md, eq. 3):
    /// Λ is block-diagonal with one copy of term j's relative covariance factor `factors[j]`
    /// (column-major k_j x k_j lower triangle) per group; X and y rows are not scaled, and the
    /// identity is added on the random-effects rows only.
    public func loadScaled(into factor: inout BlockedCholesky, factors: [[Double]]) {
        precondition(factor.layout == layout && factors.count == termStarts.count)
        let k1 = layout.groupSize
        let t1 = factors[0]

        // First part: T₁ᵀ A_g T₁ + I for each group.
        let groupCount = layout.groupCount
        let diagonalScale = denseDiagonalScale(factors: factors)
        t1.withUnsafeBufferPointer { t1Buffer in
        let t1 = t1Buffer.baseAddress!
        factor.diagonal.withUnsafeMutableBufferPointer { out in
            diagonal.withUnsafeBufferPointer { a in
                let out = out.baseAddress!, a = a.baseAddress!
                for g in 0..<groupCount {
                    let block = out + g * k1 * k1
                    block.update(from: a + g * k1 * k1, count: k1 * k1)
                    Self.scaleColumns(block, rows: k1, from: 0, by: t1, order: k1)
                    Self.scaleRows(block, rows: k1, columns: k1, from: 0, by: t1, order: k1)
                    for i in 0..<k1 { block[i * (k1 + 1)] += 1 }
                }
            }
        }

        // Off-diagonal column blocks: (rows scaled by their own term's factor) A T₁.
        factor.offDiagonal.withUnsafeMutableBufferPointer { out in
            offDiagonal.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        }
        factor.offDiagonal.withUnsafeMutableBufferPointer { out in
        layout.patternOffsets.withUnsafeBufferPointer { offsets in
        layout.patternRows.withUnsafeBufferPointer { rows in
            let offsets = offsets.baseAddress!, rows = rows.baseAddress!
            for g in 0..<groupCount {
                let start = offsets[g]
                let count = offsets[g + 1] - start
                let block = out.baseAddress! + start * k1
                Self.scaleColumns(block, rows: count, from: 0, by: t1, order: k1)
                if let diagonalScale {
                    diagonalScale.withUnsafeBufferPointer { scale in
                        for c in 0..<k1 {
                            let column = block + c * count
                            for a in 0..<count { column[a] *= scale[Int(rows[start + a])] }
                        }
                    }
                    continue
                }
                var a = 0
                while a < count {
                    let row = Int(rows[start + a])
                    let term = Int(termOfDenseRow[row])
                    if term < 0 { break }   // X and y rows come last and are not scaled
                    let k = factors[term].count.squareRootOfPerfectSquare
                    Self.scaleRows(block, rows: count, columns: k1, from: a, by: factors[term], order: k)
                    a += k
                }
            }
        } } }
        }

        // Dense part: Sᵀ A S with S = blockdiag(Λ₂, …, Λ_t, I), plus I on the random rows.
        if let diagonalScale {
            loadScaledDenseDiagonal(into: &factor, scale: diagonalScale)
        } else {
            loadScaledDenseBlocks(into: &factor, factors: factors)
        }
    }

    /// S's diagonal when every term in the dense part is scalar (S is then diagonal), else nil.
    private func denseDiagonalScale(factors: [[Double]]) -> [Double]? {
        guard termStarts.indices.allSatisfy({ termStarts[$0] < 0 || factors[$0].count == 1 }) else { return nil }
        var scale = [Double](repeating: 1, count: layout.denseDimension)
        for row in 0..<fixedStart { scale[row] = factors[Int(termOfDenseRow[row])][0] }
        return scale
    }

    /// The dense part when S is diagonal: D[r, c] = s_r A[r, c] s_c on the lower triangle only
    /// (the factorization reads nothing else).
    private func loadScaledDenseDiagonal(into factor: inout BlockedCholesky, scale: [Double]) {
        let m = layout.denseDimension
        factor.dense.storage.withUnsafeMutableBufferPointer { d in
            dense.storage.withUnsafeBufferPointer { a in
                for c in 0..<m {
                    let sc = scale[c]
                    let base = c * m
                    for r in c..<m { d[base + r] = a[base + r] * scale[r] * sc }
                }
            }
            for i in 0..<fixedStart { d[i + i * m] += 1 }
        }
    }

    private func loadScaledDenseBlocks(into factor: inout BlockedCholesky, factors: [[Double]]) {
        let m = layout.denseDimension
        factor.dense.storage = dense.storage
        factor.dense.storage.withUnsafeMutableBufferPointer { d in
            for (j, start) in termStarts.enumerated() where start >= 0 {
                let t = factors[j]
                let k = t.count.squareRootOfPerfectSquare
                var row = start
                let end = j + 1 < termStarts.count ? termStarts[j + 1] : fixedStart
                while row < end {
                    Self.scaleColumns(d.baseAddress!, rows: m, from: row, by: t, order: k)
                    Self.scaleRows(d.baseAddress!, rows: m, columns: m, from: row, by: t, order: k)
                    row += k
                }
            }
            for i in 0..<fixedStart { d[i + i * m] += 1 }
        }
    }

    /// Columns `from ..< from + order` of a column-major matrix ← those columns times T (lower).
    @inline(__always)
    static func scaleColumns(_ a: UnsafeMutablePointer<Double>, rows: Int, from: Int, by t: UnsafePointer<Double>, order k: Int) {
        if k == 1 {
            let s = t[0]
            let column = a + from * rows
            for i in 0..<rows { column[i] *= s }
            return
        }
        // New column c = Σ_{r ≥ c} old column r · T[r, c]; ascending c reads only unchanged columns.
        for c in 0..<k {
            let target = a + (from + c) * rows
            let tcc = t[c + c * k]
            for i in 0..<rows {
                var s = target[i] * tcc
                for r in (c + 1)..<k { s += a[i + (from + r) * rows] * t[r + c * k] }
                target[i] = s
            }
        }
    }

    /// Rows `from ..< from + order` ← Tᵀ times those rows.
    @inline(__always)
    static func scaleRows(_ a: UnsafeMutablePointer<Double>, rows: Int, columns: Int, from: Int, by t: UnsafePointer<Double>, order k: Int) {
        if k == 1 {
            let s = t[0]
            for c in 0..<columns { a[from + c * rows] *= s }
            return
        }
        for column in 0..<columns {
            let base = a + column * rows + from
            for c in 0..<k {
                var s = base[c] * t[c + c * k]
                for r in (c + 1)..<k { s += base[r] * t[r + c * k] }
                base[c] = s
            }
        }
    }

    static func scaleColumns(_ a: UnsafeMutablePointer<Double>, rows: Int, from: Int, by t: [Double], order k: Int) {
        t.withUnsafeBufferPointer { scaleColumns(a, rows: rows, from: from, by: $0.baseAddress!, order: k) }
    }

    static func scaleRows(_ a: UnsafeMutablePointer<Double>, rows: Int, columns: Int, from: Int, by t: [Double], order k: Int) {
        t.withUnsafeBufferPointer { scaleRows(a, rows: rows, columns: columns, from: from, by: $0.baseAddress!, order: k) }
    }

    static func scaleColumns(_ a: inout [Double], rows: Int, from: Int, by t: [Double], order k: Int) {
        a.withUnsafeMutableBufferPointer { scaleColumns($0.baseAddress!, rows: rows, from: from, by: t, order: k) }
    }

    static func scaleRows(_ a: inout [Double], rows: Int, columns: Int, from: Int, by t: [Double], order k: Int) {
        a.withUnsafeMutableBufferPointer { scaleRows($0.baseAddress!, rows: rows, columns: columns, from: from, by: t, order: k) }
    }
}

extension Int {
    /// k for a k x k factor stored as k² entries.
    var squareRootOfPerfectSquare: Int {
        var k = Int(Double(self).squareRoot().rounded())
        while k * k > self { k -= 1 }
        return k
    }
}
