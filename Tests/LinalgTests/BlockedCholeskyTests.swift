import Testing
import Linalg
import CNumerics
import TestSupport

/// A blocked matrix M = AᵀA + I built from a random design whose first `groupCount * groupSize`
/// columns are group indicators times covariates (so the first block is block-diagonal).
private struct RandomBlockedProblem {
    var layout: BlockedLayout
    var full: Matrix
    var blocked: BlockedCholesky

    init(groupCount: Int, groupSize: Int, denseDimension: Int, observations: Int, seed: UInt64) {
        var state = seed
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let q1 = groupCount * groupSize
        let dim = q1 + denseDimension
        var a = Matrix(rows: observations, columns: dim)
        for i in 0..<observations {
            let g = Int(uniform() * Double(groupCount))
            for c in 0..<groupSize { a[i, g * groupSize + c] = c == 0 ? 1 : uniform() - 0.5 }
            // Each observation touches a few dense columns, so the pattern is really sparse.
            for c in 0..<denseDimension where uniform() < 0.1 || c == denseDimension - 1 { a[i, q1 + c] = uniform() - 0.5 }
        }
        var m = Matrix(rows: dim, columns: dim)
        for r in 0..<dim { for c in 0..<dim {
            var s = 0.0
            for i in 0..<observations { s += a[i, r] * a[i, c] }
            m[r, c] = s + (r == c ? 1 : 0)
        } }
        full = m
        var offsets = [0]
        var rows: [Int32] = []
        for g in 0..<groupCount {
            for rr in 0..<denseDimension where (0..<groupSize).contains(where: { m[q1 + rr, g * groupSize + $0] != 0 }) {
                rows.append(Int32(rr))
            }
            offsets.append(rows.count)
        }
        layout = BlockedLayout(groupCount: groupCount, groupSize: groupSize, denseDimension: denseDimension, patternOffsets: offsets, patternRows: rows)
        blocked = BlockedCholesky(layout: layout)
        let k = groupSize
        for g in 0..<groupCount {
            for c in 0..<k { for r in 0..<k { blocked.diagonal[g * k * k + c * k + r] = m[g * k + r, g * k + c] } }
            let count = layout.patternCount(g)
            for c in 0..<k { for aIndex in 0..<count {
                blocked.offDiagonal[offsets[g] * k + c * count + aIndex] = m[q1 + Int(rows[offsets[g] + aIndex]), g * k + c]
            } }
        }
        for c in 0..<denseDimension { for r in 0..<denseDimension { blocked.dense[r, c] = m[q1 + r, q1 + c] } }
    }
}

private func denseCholesky(_ m: Matrix) -> Matrix {
    var l = m
    let n = Int32(m.rows)
    let info = l.storage.withUnsafeMutableBufferPointer { LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), n, $0.baseAddress!, n) }
    precondition(info == 0)
    for c in 0..<m.columns { for r in 0..<c { l[r, c] = 0 } }
    return l
}

@Test(arguments: [(1, 12), (2, 7), (3, 10)])
func blockedFactorMatchesDenseCholesky(groupSize: Int, groups: Int) throws {
    var problem = RandomBlockedProblem(groupCount: groups, groupSize: groupSize, denseDimension: 9, observations: 80, seed: UInt64(groupSize * 31 + groups))
    #expect(problem.layout.patternRows.count < groups * 9, "the test should exercise a sparse pattern")
    try problem.blocked.factorize()
    let expected = denseCholesky(problem.full)
    let actual = problem.blocked.denseLowerTriangle()
    for c in 0..<expected.columns { for r in c..<expected.rows {
        #expect(abs(actual[r, c] - expected[r, c]) <= 1e-12 * max(1, abs(expected[r, c])), "L[\(r),\(c)]")
    } }
    // log-determinant pieces add up to the dense log-determinant.
    var denseLogDet = 0.0
    for i in 0..<expected.rows { denseLogDet += log(expected[i, i]) }
    let blockedLogDet = problem.blocked.firstLogDiagonalSum() + problem.blocked.denseLogDiagonalSum(0..<9)
    #expect(isClose(blockedLogDet, denseLogDet, relative: 1e-13))
}

@Test func blockedSolvesMatchDenseSolves() throws {
    var problem = RandomBlockedProblem(groupCount: 6, groupSize: 2, denseDimension: 7, observations: 60, seed: 99)
    try problem.blocked.factorize()
    let l = denseCholesky(problem.full)
    let dim = problem.layout.dimension
    let rhs = (0..<dim).map { Double($0 % 5) - 1.7 }
    // L (Lᵀ x) = rhs through the blocked solves reproduces M x = rhs.
    var x = rhs
    problem.blocked.solveLower(&x, denseCount: 7)
    problem.blocked.solveTransposed(&x, denseCount: 7)
    for r in 0..<dim {
        var s = 0.0
        for c in 0..<dim { s += problem.full[r, c] * x[c] }
        #expect(isClose(s, rhs[r], relative: 1e-10, absolute: 1e-10))
    }
    // The forward solve alone equals the dense triangular solve.
    var forward = rhs
    problem.blocked.solveLower(&forward, denseCount: 7)
    for r in 0..<dim {
        var s = 0.0
        for c in 0...r { s += l[r, c] * forward[c] }
        #expect(isClose(s, rhs[r], relative: 1e-10, absolute: 1e-10))
    }
}

@Test func notPositiveDefiniteIsReported() {
    let layout = BlockedLayout(groupCount: 1, groupSize: 1, denseDimension: 1, patternOffsets: [0, 1], patternRows: [0])
    var blocked = BlockedCholesky(layout: layout)
    blocked.diagonal = [1]
    blocked.offDiagonal = [2]
    blocked.dense[0, 0] = 1   // 1 - 2² < 0
    #expect(throws: CholeskyError.denseNotPositiveDefinite(column: 0)) { try blocked.factorize() }
}
