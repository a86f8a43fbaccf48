import Foundation
import Linalg
import Testing
import TestSupport
@testable import ModelSpec

/// The cross-products `[Z X y]ᵀ W [Z X y]` are filled by a chunked, group-sorted pass
/// (`CrossProducts.fillRows`); every chain and fit depends on their bits. These tests hold them to
/// the plainest computation, written here: one pass over the rows in file order, each product
/// added as the row comes, with the pattern found by sorting one key per row. Equal means equal
/// to the bit, not within a tolerance: a changed order of additions changes the draws.
@Suite struct CrossProductsTests {
    /// The blocks as one pass in file order adds them (the fill before issue 14's one-pass
    /// sufficient statistics, with its binary search replaced by a dictionary).
    static func referenceBlocks(_ terms: [RandomEffectsTerm], fixed: Matrix, response: [Double], weights: [Double]?)
        -> (offsets: [Int], rows: [Int32], diagonal: [Double], offDiagonal: [Double], dense: [Double]) {
        let n = response.count, first = terms[0], k1 = first.size, p = fixed.columns
        var starts = [-1], position = 0
        for term in terms.dropFirst() { starts.append(position); position += term.effectCount }
        let fixedStart = position, m = position + p + 1
        var pairs: [[Int32]] = Array(repeating: [], count: first.levelCount)
        for (j, term) in terms.enumerated().dropFirst() {
            let keys = Set((0..<n).map { Int(first.groupCodes[$0]) * term.levelCount + Int(term.groupCodes[$0]) }).sorted()
            for key in keys {
                let (g, h) = key.quotientAndRemainder(dividingBy: term.levelCount)
                for c in 0..<term.size { pairs[g].append(Int32(starts[j] + h * term.size + c)) }
            }
        }
        var offsets = [0], rows: [Int32] = []
        for g in 0..<first.levelCount {
            rows += pairs[g] + (fixedStart..<m).map { Int32($0) }
            offsets.append(rows.count)
        }
        let places = (0..<first.levelCount).map { g in
            Dictionary(uniqueKeysWithValues: (offsets[g]..<offsets[g + 1]).map { (Int(rows[$0]), $0 - offsets[g]) })
        }
        var diagonal = [Double](repeating: 0, count: first.levelCount * k1 * k1)
        var offDiagonal = [Double](repeating: 0, count: rows.count * k1)
        var dense = [Double](repeating: 0, count: m * m)
        for i in 0..<n {
            let g = Int(first.groupCodes[i])
            var z1 = (0..<k1).map { first.modelRows[i, $0] }
            if let weights {
                for c in 0..<k1 { for r in 0..<k1 { diagonal[g * k1 * k1 + c * k1 + r] += weights[i] * z1[r] * z1[c] } }
                z1 = z1.map { $0 * weights[i] }
            } else {
                for c in 0..<k1 { for r in 0..<k1 { diagonal[g * k1 * k1 + c * k1 + r] += z1[r] * z1[c] } }
            }
            var touched: [(row: Int, value: Double)] = []
            for (j, term) in terms.enumerated().dropFirst() {
                for c in 0..<term.size { touched.append((starts[j] + Int(term.groupCodes[i]) * term.size + c, term.modelRows[i, c])) }
            }
            for c in 0..<p { touched.append((fixedStart + c, fixed[i, c])) }
            touched.append((m - 1, response[i]))
            let start = offsets[g], count = offsets[g + 1] - start
            for (row, value) in touched {
                for c in 0..<k1 { offDiagonal[start * k1 + c * count + places[g][row]!] += value * z1[c] }
            }
            for (a, (rowA, valueA)) in touched.enumerated() where valueA != 0 {
                let scaled = weights.map { valueA * $0[i] } ?? valueA
                for (rowB, valueB) in touched[...a] { dense[rowA + rowB * m] += scaled * valueB }
            }
        }
        for c in 0..<m { for r in (c + 1)..<max(m, c + 1) { dense[c + r * m] = dense[r + c * m] } }
        return (offsets, rows, diagonal, offDiagonal, dense)
    }

    static func expectSameBits(_ products: CrossProducts, _ design: Design, response: [Double], weights: [Double]?,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        let reference = referenceBlocks(design.terms, fixed: design.fixed.matrix, response: response, weights: weights)
        #expect(products.layout.patternOffsets == reference.offsets, sourceLocation: sourceLocation)
        #expect(products.layout.patternRows == reference.rows, sourceLocation: sourceLocation)
        #expect(products.diagonal == reference.diagonal, sourceLocation: sourceLocation)
        #expect(products.offDiagonal == reference.offDiagonal, sourceLocation: sourceLocation)
        #expect(products.dense.storage == reference.dense, sourceLocation: sourceLocation)
    }

    /// The design of a models/ directory, read as `mixmc` reads it.
    static func exampleDesign(_ name: String) throws -> Design {
        let directory = try ModelDirectory.load(path: Fixtures.repositoryRoot.appendingPathComponent("models/\(name)").path)
        let formula = try Formula.parse(directory.formula)
        let categorical = Set(directory.categorical).union(Design.variables(of: formula).grouping).union(directory.contrasts.factorsNamed)
        let data = try DataTable.read(path: directory.dataPath, categorical: categorical)
        let family = try Family(Family.Kind(rawValue: directory.family ?? "gaussian")!, link: directory.link.flatMap(Link.init(rawValue:)))
        return try Design.build(data: data, formula: formula, family: family, weights: directory.weights, contrasts: directory.contrasts)
    }

    static let exampleModels = ["sleepstudy", "dyestuff", "penicillin", "pastes", "sim_medium", "sim_crossed", "insteval",
                                "cbpp", "grouseticks", "verbagg"]

    /// Every example model: the products its fits and chains start from, and a weighted refill
    /// (the general fill, which a GLMM with a vector term refills through).
    @Test(arguments: exampleModels)
    func exampleModelProductsAreTheFileOrderSums(_ name: String) throws {
        var design = try Self.exampleDesign(name)
        let adjusted = zip(design.response, design.offset).map { $0 - $1 }
        Self.expectSameBits(design.crossProducts, design, response: adjusted, weights: design.family.isGaussian ? design.priorWeights : nil)
        let weights = (0..<design.observationCount).map { 0.5 + Double(($0 * 7919) % 13) / 8 }
        let working = adjusted.enumerated().map { $0.element + Double($0.offset % 5) / 3 }
        design.refillCrossProducts(response: working, weights: weights)
        Self.expectSameBits(design.crossProducts, design, response: working, weights: weights)
    }

    /// A file longer than one chunk of the fill (2^18 rows), rows of a group on both sides of
    /// each chunk boundary, a vector first term and crossed second term.
    @Test func sumsAcrossChunksKeepFileOrder() throws {
        var state: UInt64 = 14
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        var text = "y,x,g,h\n"
        for _ in 0..<300_000 {
            let x = Double(next() % 4000) / 1000 - 2
            text += "\(Double(next() % 100_000) / 997),\(x),g\(next() % 700),h\(next() % 40)\n"
        }
        let data = try DataTable.parse(text: text, source: "chunks.csv", categorical: ["g", "h"])
        let design = try Design.build(data: data, formula: try Formula.parse("y ~ x + (x | g) + (1 | h)"))
        #expect(design.terms.map(\.size) == [2, 1])
        Self.expectSameBits(design.crossProducts, design, response: design.response, weights: nil)
        let weights = (0..<design.observationCount).map { 1 + Double($0 % 3) / 4 }
        let products = CrossProducts(terms: design.terms, fixed: design.fixed.matrix, response: design.response, weights: weights)
        Self.expectSameBits(products, design, response: design.response, weights: weights)
    }
}
