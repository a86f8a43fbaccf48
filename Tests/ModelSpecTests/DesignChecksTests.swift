import Linalg
import Testing
@testable import ModelSpec

/// R's `qr(X, tol = 1e-7)` rank and pivot (LINPACK dqrdc2), which lme4's `check.rankX` uses.
@Suite struct DesignChecksTests {
    static func matrix(_ columns: [[Double]]) -> Matrix {
        Matrix(rows: columns[0].count, columns: columns.count, storage: columns.flatMap { $0 })
    }

    static let x: [Double] = [0.3, -1.2, 0.8, 2.0, -0.4, 1.1, 0.05, -0.7]
    static let one = [Double](repeating: 1, count: 8)

    @Test func fullRankKeepsEveryColumn() {
        let rank = DesignChecks.pivotedQR(Self.matrix([Self.one, Self.x]))
        #expect(rank.kept == [0, 1] && rank.dropped.isEmpty)
    }

    /// A constant beside the intercept is dropped whatever its size (the tolerance is relative to
    /// each column's own norm), as are 2x + 1 and a duplicate.
    @Test(arguments: [5.0, 1e-6, 1e6])
    func aConstantBesideTheInterceptIsDropped(_ value: Double) {
        let constant = [Double](repeating: value, count: 8)
        #expect(DesignChecks.pivotedQR(Self.matrix([Self.one, Self.x, constant])).dropped == [2])
        #expect(DesignChecks.pivotedQR(Self.matrix([Self.one, constant, Self.x])).dropped == [1])
    }

    @Test func linearCombinationsAreDroppedAfterTheColumnsTheyDependOn() {
        let affine = Self.x.map { 2 * $0 + 1 }
        let z = [1.0, 0, 0, 1, 0, 1, 1, 0]
        let rank = DesignChecks.pivotedQR(Self.matrix([Self.one, affine, Self.x, z, Self.x]))
        #expect(rank.kept == [0, 1, 3])
        #expect(rank.dropped == [2, 4])
    }

    @Test func droppedColumnsKeepTheOthersInOrder() {
        let constant = [Double](repeating: 5, count: 8)
        let fixed = ModelMatrix(matrix: Self.matrix([Self.one, Self.x, constant]), columnNames: ["(Intercept)", "x", "z0"])
        let (kept, dropped) = DesignChecks.dropRankDeficientColumns(fixed)
        #expect(kept.columnNames == ["(Intercept)", "x"])
        #expect(kept.matrix.storage == Self.one + Self.x)
        #expect(dropped == ["z0"])
        #expect(DesignChecks.rankDeficiencyNote(dropped: dropped) == "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient (z0)")
    }
}
