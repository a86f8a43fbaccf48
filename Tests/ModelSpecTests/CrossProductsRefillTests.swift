import Foundation
import Testing
import Linalg
import ModelSpec
import TestSupport

/// PIRLS refills the cross-products through row tables (`cacheRowSlots`, then `fill` with
/// weights); the general fill computes the same sums without them. Both must give the same bits,
/// with β fixed (no X: one other scalar term, the specialized loop) and with X (β inside PIRLS).
@Suite struct CrossProductsRefillTests {
    static func verbAgg() throws -> Design {
        let formula = try Formula.parse("r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)")
        let path = Fixtures.repositoryRoot.appendingPathComponent("models/verbagg/data.csv").path
        let table = try DataTable.read(path: path, categorical: Design.variables(of: formula).grouping)
        return try Design.build(data: table, formula: formula, family: Family(.binomial))
    }

    @Test(arguments: [false, true])
    func tablesGiveTheGeneralFillsBits(withFixedEffects: Bool) throws {
        let design = try Self.verbAgg()
        let n = design.observationCount
        let fixed = withFixedEffects ? design.fixed.matrix : Matrix(rows: n, columns: 0)
        let weights = (0..<n).map { 0.05 + 0.2 * (1 + sin(Double($0))) }
        let response = (0..<n).map { cos(0.3 * Double($0)) * 2 }
        var refilled = CrossProducts(terms: design.terms, fixed: fixed, response: Array(repeating: 0, count: n))
        refilled.cacheRowSlots(terms: design.terms, fixed: fixed)
        refilled.fill(terms: design.terms, fixed: fixed, response: response, weights: weights)
        let general = CrossProducts(terms: design.terms, fixed: fixed, response: response, weights: weights)
        #expect(refilled.diagonal == general.diagonal)
        #expect(refilled.offDiagonal == general.offDiagonal)
        #expect(refilled.dense.storage == general.dense.storage)
    }
}
