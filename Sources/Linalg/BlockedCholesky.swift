import CNumerics

/// Where the nonzeros of a blocked symmetric matrix sit.
///
/// The matrix is ordered as `[first | rest]`: the first block is block-diagonal with `groupCount`
/// blocks of `groupSize` x `groupSize` (the first random-effects term, whose groups never share an
/// observation); the rest (`denseDimension` rows: the other random-effects terms, then X, then y)
/// is stored dense. The off-diagonal block, rest x first, is stored by column block: group g's
/// block holds only the rows `patternRows[patternOffsets[g] ..< patternOffsets[g + 1]]` (sorted,
/// in rest coordinates). Factorizing keeps this pattern: a block-diagonal leading block produces
/// no fill-in below it (docs/math.md, eq. 4).
public struct BlockedLayout: Sendable, Equatable {
    public let groupCount: Int
    public let groupSize: Int
    public let denseDimension: Int
    public let patternOffsets: [Int]
    public let patternRows: [Int32]

    public init(groupCount: Int, groupSize: Int, denseDimension: Int, patternOffsets: [Int], patternRows: [Int32]) {
        precondition(patternOffsets.count == groupCount + 1 && patternOffsets.last == patternRows.count)
        self.groupCount = groupCount
        self.groupSize = groupSize
        self.denseDimension = denseDimension
        self.patternOffsets = patternOffsets
        self.patternRows = patternRows
    }

    /// Number of rows and columns of the whole matrix.
    public var dimension: Int { groupCount * groupSize + denseDimension }
    /// Rows of the first (block-diagonal) part.
    public var firstDimension: Int { groupCount * groupSize }
    public func patternCount(_ group: Int) -> Int { patternOffsets[group + 1] - patternOffsets[group] }
}

public enum CholeskyError: Error, Equatable, CustomStringConvertible {
    /// The leading block of `group` in the first part is not positive definite.
    case firstBlockNotPositiveDefinite(group: Int)
    /// The dense part lost positive definiteness at (0-based) dense column `column`.
    case denseNotPositiveDefinite(column: Int)

    public var description: String {
        switch self {
        case .firstBlockNotPositiveDefinite(let g): return "block \(g) of the leading diagonal is not positive definite"
        case .denseNotPositiveDefinite(let c): return "matrix not positive definite at dense column \(c)"
        }
    }
}

/// The blocked lower Cholesky factor L (L Lᵀ = M) of a matrix with `BlockedLayout`'s structure.
///
/// Fill `diagonal`, `offDiagonal` and the lower triangle of `dense` with M, call `factorize()`,
/// and the same storage then holds L (docs/math.md, eq. 4-5). Only lower triangles are read or
/// written; the strict upper triangle of `dense` is scratch.
public struct BlockedCholesky: Sendable {
    public let layout: BlockedLayout
    /// `groupCount` column-major `groupSize` x `groupSize` blocks.
    public var diagonal: [Double]
    /// Group g's block is column-major `patternCount(g)` x `groupSize`, starting at `patternOffsets[g] * groupSize`.
    public var offDiagonal: [Double]
    /// The rest x rest block.
    public var dense: Matrix

    public init(layout: BlockedLayout) {
        self.layout = layout
        diagonal = Array(repeating: 0, count: layout.groupCount * layout.groupSize * layout.groupSize)
        offDiagonal = Array(repeating: 0, count: layout.patternRows.count * layout.groupSize)
        dense = Matrix(rows: layout.denseDimension, columns: layout.denseDimension)
    }

    /// Factorizes in place; on success the storage holds L.
    public mutating func factorize() throws(CholeskyError) {
        let k = layout.groupSize
        let m = layout.denseDimension
        let kk = k * k
        for g in 0..<layout.groupCount {
            let ok = diagonal.withUnsafeMutableBufferPointer { d in
                SmallDense.choleskyLowerInPlace(d.baseAddress! + g * kk, order: k)
            }
            guard ok else { throw .firstBlockNotPositiveDefinite(group: g) }
        }
        // Off-diagonal: B_g ← B_g L_g⁻ᵀ, then the dense block loses B_g B_gᵀ on the rows B_g touches.
        diagonal.withUnsafeBufferPointer { d in
            offDiagonal.withUnsafeMutableBufferPointer { b in
                for g in 0..<layout.groupCount {
                    let start = layout.patternOffsets[g]
                    let r = layout.patternOffsets[g + 1] - start
                    if r == 0 { continue }
                    SmallDense.solveRightLowerTransposed(b.baseAddress! + start * k, rows: r, lower: d.baseAddress! + g * kk, order: k)
                }
            }
        }
        offDiagonal.withUnsafeBufferPointer { b in
            dense.storage.withUnsafeMutableBufferPointer { dn in
                layout.patternRows.withUnsafeBufferPointer { rowsAll in
                    layout.patternOffsets.withUnsafeBufferPointer { offsets in
                        Self.downdate(dense: dn.baseAddress!, order: m, blocks: b.baseAddress!, rows: rowsAll.baseAddress!,
                                      offsets: offsets.baseAddress!, groupCount: layout.groupCount, groupSize: k)
                    }
                }
            }
        }
        if m > 0 {
            let info = dense.storage.withUnsafeMutableBufferPointer { dn in
                // The _work variant skips LAPACKE's NaN scan of the whole matrix on every call.
                LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(m), dn.baseAddress!, Int32(m))
            }
            guard info == 0 else { throw .denseNotPositiveDefinite(column: Int(info) - 1) }
        }
    }

    /// Groups whose pattern is a run of at least this many consecutive dense rows are downdated
    /// through BLAS (`dsyrk`); shorter or scattered patterns by the indexed loop, whose cost
    /// per call is lower than a BLAS call's for a handful of rows.
    static let blasDowndateRows = 16

    /// dense ← dense − Σ_g B_g B_gᵀ on the rows of each group's pattern (lower triangle; eq. 4).
    ///
    /// Consecutive groups with the same contiguous pattern [lo, lo + r) (crossed designs: every
    /// level of the first factor meets every level of the second) store their blocks back to back,
    /// column-major with leading dimension r, so together they are one r x (groups·k) matrix and
    /// one `dsyrk` downdates them all at BLAS speed.
    static func downdate(dense: UnsafeMutablePointer<Double>, order m: Int, blocks: UnsafePointer<Double>,
                         rows: UnsafePointer<Int32>, offsets: UnsafePointer<Int>, groupCount: Int, groupSize k: Int) {
        func contiguousRange(_ g: Int) -> (low: Int, count: Int)? {
            let start = offsets[g], r = offsets[g + 1] - start
            guard r >= blasDowndateRows, Int(rows[start + r - 1]) - Int(rows[start]) == r - 1 else { return nil }
            return (Int(rows[start]), r)
        }
        var g = 0
        while g < groupCount {
            if let range = contiguousRange(g) {
                var end = g + 1
                while end < groupCount, let next = contiguousRange(end), next == range { end += 1 }
                let n = Int32(range.count)
                cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, Int32((end - g) * k), -1,
                            blocks + offsets[g] * k, n, 1, dense + range.low * (m + 1), Int32(m))
                g = end
                continue
            }
            let start = offsets[g]
            let r = offsets[g + 1] - start
            let block = blocks + start * k
            let groupRows = rows + start
            // Column by column of the dense block: the rows a ≥ b of one column are close
            // together in memory (the pattern is sorted).
            for c in 0..<k {
                let col = block + c * r
                for bIndex in 0..<r {
                    let vb = col[bIndex]
                    if vb == 0 { continue }
                    let column = dense + Int(groupRows[bIndex]) * m
                    for a in bIndex..<r { column[Int(groupRows[a])] -= col[a] * vb }
                }
            }
            g += 1
        }
    }

    /// Σ log L[i,i] over the first part (the log-determinant of the first part of L).
    public func firstLogDiagonalSum() -> Double {
        let k = layout.groupSize
        var sum = 0.0
        for g in 0..<layout.groupCount {
            for i in 0..<k { sum += log(diagonal[g * k * k + i * (k + 1)]) }
        }
        return sum
    }

    /// Σ log L[i,i] over dense rows `range`.
    public func denseLogDiagonalSum(_ range: Range<Int>) -> Double {
        var sum = 0.0
        for i in range { sum += log(dense[i, i]) }
        return sum
    }

    /// The factor's last row (y's, in the mixed-model system) without its diagonal entry, over the
    /// first part and the leading `denseCount` dense columns: ℓ in [û; β̂] = L⁻ᵀ ℓ (docs/math.md,
    /// eq. 8). Groups whose pattern does not reach the last row contribute zeros.
    public func lastRow(denseCount: Int) -> [Double] {
        let k = layout.groupSize
        let q1 = layout.firstDimension
        let last = layout.denseDimension - 1
        precondition(denseCount <= last)
        var row = [Double](repeating: 0, count: q1 + denseCount)
        for g in 0..<layout.groupCount {
            let start = layout.patternOffsets[g]
            let count = layout.patternCount(g)
            guard count > 0, Int(layout.patternRows[start + count - 1]) == last else { continue }
            for c in 0..<k { row[g * k + c] = offDiagonal[start * k + c * count + count - 1] }
        }
        for c in 0..<denseCount { row[q1 + c] = dense[last, c] }
        return row
    }

    /// Solves Lᵀ x = rhs for the leading `firstDimension + denseCount` rows of L (the trailing
    /// dense rows, e.g. y's, are left out). `rhs` has that length and is overwritten with x.
    public func solveTransposed(_ rhs: inout [Double], denseCount: Int) {
        let k = layout.groupSize
        let q1 = layout.firstDimension
        let m = layout.denseDimension
        precondition(rhs.count == q1 + denseCount && denseCount <= m)
        rhs.withUnsafeMutableBufferPointer { x in
            let x2 = x.baseAddress! + q1
            if denseCount > 0 {
                dense.storage.withUnsafeBufferPointer { dn in
                    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, Int32(denseCount), dn.baseAddress!, Int32(m), x2, 1)
                }
            }
            diagonal.withUnsafeBufferPointer { d in
            offDiagonal.withUnsafeBufferPointer { b in
            layout.patternOffsets.withUnsafeBufferPointer { offsets in
            layout.patternRows.withUnsafeBufferPointer { rows in
                let d = d.baseAddress!, b = b.baseAddress!, offsets = offsets.baseAddress!, rows = rows.baseAddress!
                for g in 0..<layout.groupCount {
                    let start = offsets[g]
                    let r = offsets[g + 1] - start
                    let xg = x.baseAddress! + g * k
                    let groupRows = rows + start
                    for c in 0..<k {
                        let column = b + start * k + c * r
                        var s = 0.0
                        for a in 0..<r {
                            let row = Int(groupRows[a])
                            if row < denseCount { s += column[a] * x2[row] }
                        }
                        xg[c] -= s
                    }
                    SmallDense.solveLowerTransposed(d + g * k * k, order: k, xg)
                }
            } } } }
        }
    }

    /// Solves L x = rhs for the leading `firstDimension + denseCount` rows (forward substitution).
    public func solveLower(_ rhs: inout [Double], denseCount: Int) {
        let k = layout.groupSize
        let q1 = layout.firstDimension
        let m = layout.denseDimension
        precondition(rhs.count == q1 + denseCount && denseCount <= m)
        rhs.withUnsafeMutableBufferPointer { x in
            let x2 = x.baseAddress! + q1
            for g in 0..<layout.groupCount {
                let start = layout.patternOffsets[g]
                let r = layout.patternOffsets[g + 1] - start
                let xg = x.baseAddress! + g * k
                diagonal.withUnsafeBufferPointer { d in
                    SmallDense.solveLower(d.baseAddress! + g * k * k, order: k, xg)
                }
                for c in 0..<k {
                    let v = xg[c]
                    for a in 0..<r {
                        let row = Int(layout.patternRows[start + a])
                        if row < denseCount { x2[row] -= offDiagonal[(start * k) + c * r + a] * v }
                    }
                }
            }
            if denseCount > 0 {
                dense.storage.withUnsafeBufferPointer { dn in
                    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, Int32(denseCount), dn.baseAddress!, Int32(m), x2, 1)
                }
            }
        }
    }

    /// The whole matrix, densely: the factor L after `factorize()`, or M before it (lower triangle).
    public func denseLowerTriangle() -> Matrix {
        let k = layout.groupSize
        let q1 = layout.firstDimension
        var full = Matrix(rows: layout.dimension, columns: layout.dimension)
        for g in 0..<layout.groupCount {
            for c in 0..<k { for r in c..<k { full[g * k + r, g * k + c] = diagonal[g * k * k + c * k + r] } }
            let start = layout.patternOffsets[g]
            let count = layout.patternCount(g)
            for c in 0..<k {
                for a in 0..<count {
                    full[q1 + Int(layout.patternRows[start + a]), g * k + c] = offDiagonal[start * k + c * count + a]
                }
            }
        }
        for c in 0..<layout.denseDimension { for r in c..<layout.denseDimension { full[q1 + r, q1 + c] = dense[r, c] } }
        return full
    }
}
