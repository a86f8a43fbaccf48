import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// R's contrast matrices and level order (Tests/Fixtures/lme4_formulas.json, written by
/// scripts/make_lme4_formula_fixtures.R with R's contr.* and sort()).
@Suite struct ContrastsTests {
    /// Parsed afresh on each use, so parallel tests share no Foundation objects.
    static var reference: [String: Any] { try! Fixtures.json("lme4_formulas.json") as! [String: Any] }

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

/// R's `splines::bs` and `ns` bases with `df` (Tests/Fixtures/lme4_formulas.json), to 1e-12.
@Suite struct SplineBasisTests {
    @Test(arguments: ["bs4", "bs5_2", "ns3", "ns1"])
    func matchesR(_ name: String) {
        let splines = ContrastsTests.reference["splines"] as! [String: Any]
        let x = (splines["x"] as! [NSNumber]).map(\.doubleValue)
        // jsonlite writes a one-column matrix's rows as numbers.
        let expected = (splines[name] as! [Any]).map { (($0 as? [NSNumber]) ?? [$0 as! NSNumber]).map(\.doubleValue) }
        let columns: [[Double]]
        switch name {
        case "bs4": columns = Splines.bSpline(x, df: 4, degree: 3)
        case "bs5_2": columns = Splines.bSpline(x, df: 5, degree: 2)
        case "ns3": columns = Splines.naturalSpline(x, df: 3)
        default: columns = Splines.naturalSpline(x, df: 1)
        }
        #expect(columns.count == expected[0].count)
        for (row, values) in expected.enumerated() {
            for (column, value) in values.enumerated() {
                #expect(abs(columns[column][row] - value) <= 1e-12, "\(name)[\(row), \(column)]: \(columns[column][row]) vs R \(value)")
            }
        }
    }
}
