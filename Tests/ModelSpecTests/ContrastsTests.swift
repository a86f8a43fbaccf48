import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// R's contrast matrices and level order (Tests/Fixtures/lme4_formulas.json, written by
/// scripts/make_lme4_formula_fixtures.R with R's contr.* and sort()).
@Suite struct ContrastsTests {
    nonisolated(unsafe) static let reference = try! Fixtures.json("lme4_formulas.json") as! [String: Any]

    static func rows(_ name: String) -> (names: [String], rows: [[Double]]) {
        let entry = (reference["contrast_matrices"] as! [String: Any])[name] as! [String: Any]
        return (entry["names"] as? [String] ?? [], (entry["rows"] as! [[NSNumber]]).map { $0.map(\.doubleValue) })
    }

    @Test(arguments: [("poly6", ContrastKind.poly, 6), ("poly3", .poly, 3), ("helmert4", .helmert, 4), ("sum4", .sum, 4)])
    func matchesR(name: String, kind: ContrastKind, levels: Int) {
        let expected = Self.rows(name)
        let (suffixes, rows) = kind.matrix(levelCount: levels)
        if !expected.names.isEmpty { #expect(suffixes == expected.names) }
        for (mine, theirs) in zip(rows, expected.rows) {
            for (a, b) in zip(mine, theirs) { #expect(abs(a - b) <= 1e-12, "\(name): \(a) vs R \(b)") }
        }
        #expect(rows.count == expected.rows.count)
    }

    @Test func levelOrderIsRSort() {
        let order = Self.reference["level_order"] as! [String: [String]]
        #expect(Factor.sortLevels(order["labels"]!) == order["sorted"]!)
    }

    @Test func flagParsing() throws {
        #expect(try Contrasts.kinds(from: "Machine=sum, dose=contr.poly") == ["Machine": .sum, "dose": .poly])
        #expect(try Contrasts.references(from: "Type=Mississippi") == ["Type": "Mississippi"])
        #expect(throws: ContrastsError.self) { try Contrasts.kinds(from: "Machine=bogus") }
        #expect(throws: ContrastsError.self) { try Contrasts.references(from: "Type") }
    }
}
