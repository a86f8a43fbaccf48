import Foundation
import Testing
import TestSupport
@testable import PenalizedLS

/// The summary as lme4 prints it (issue 11, item 4): R's `format()` and `abbreviate()` against
/// R's own output, and whole blocks of `summary()` against lme4's printed summaries
/// (Tests/Fixtures/lme4_formulas.json, scripts/make_lme4_formula_fixtures.R).
@Suite struct SummaryLayoutTests {
    nonisolated(unsafe) static let reference = try! Fixtures.json("lme4_formulas.json") as! [String: Any]

    @Test func formatMatchesR() {
        for entry in Self.reference["formats"] as! [[String: Any]] {
            let x = (entry["x"] as! [NSNumber]).map(\.doubleValue)
            #expect(RPrintFormat.format(x, digits: 4) == entry["digits4"] as! [String], "format(\(x), digits = 4)")
            #expect(RPrintFormat.format(x.map { RPrintFormat.round($0, 3) }, digits: 7, nsmall: 3) == entry["round3"] as! [String],
                    "format(round(\(x), 3), nsmall = 3)")
        }
    }

    @Test func abbreviateMatchesR() {
        let entry = Self.reference["abbreviate"] as! [String: [String]]
        #expect(RPrintFormat.abbreviate(entry["names"]!, minlength: 6) == entry["minlength6"]!)
        #expect(RPrintFormat.abbreviate(entry["names"]!, minlength: 11) == entry["minlength11"]!)
    }

    /// The lines of `text` from the one starting with `start` up to (not including) the first
    /// that starts with one of `end` (or the end).
    static func block(_ lines: [String], from start: String, to end: [String]) -> [String] {
        guard let first = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(start) }) else { return [] }
        let last = lines[(first + 1)...].firstIndex { line in end.contains { line.hasPrefix($0) } } ?? lines.endIndex
        var block = Array(lines[first..<last])
        while block.last == "" { block.removeLast() }
        return block
    }

    /// Every block lme4 prints after the header: residuals, random effects and groups, fixed
    /// effects, their correlations, lme4's messages. Cases: more than 12 fixed effects
    /// (CO2_many_fixed), long names (CO2_reference, `TypeQuebec:Treatmentnonchilled`), no
    /// correlated terms (sleepstudy_uncorr), correlated terms (sleepstudy_poly, Machines_sum_random),
    /// ML (sleepstudy_ML), a singular fit and its messages (Dyestuff2_singular).
    @Test(arguments: ["CO2_many_fixed", "CO2_reference", "sleepstudy_uncorr", "sleepstudy_poly", "Machines_sum_random", "Exam_nested3", "Oats_poly",
                      "sleepstudy_ML", "Dyestuff2_singular"])
    func summaryBlocksMatchLme4(_ name: String) throws {
        // At lme4's θ, so the digits printed are lme4's and the test is of the layout.
        let fixture = Lme4FormulaFixture.named(name)
        let design = try fixture.design()
        let objective = ProfiledObjective(design: design, method: (fixture.entry["REML"] as! Bool) ? .reml : .ml)
        let fit = try MixedModelFit.evaluated(objective, theta: fixture.numbers("theta", "value"),
                                              optimizer: .init(minimizer: [], minimum: 0, evaluations: 0, status: 1), started: .now)
        let mine = fit.summaryText(formula: fixture.formula, dataName: fixture.entry["data"] as! String)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let theirs = fixture.entry["summary"] as! [String]
        for (start, end) in [("REML criterion", ["Scaled"]), ("AIC", ["Scaled"]), ("Scaled residuals", ["Random effects"]),
                             ("Random effects", ["Fixed effects"]), ("Fixed effects", ["Correlation", "optimizer", "Use print", "fit warnings"]),
                             ("Correlation of Fixed Effects", ["optimizer", "fit warnings"]), ("optimizer (nloptwrap)", ["zzz"])] {
            #expect(Self.block(mine, from: start, to: end) == Self.block(theirs, from: start, to: end), "\(name): \(start)")
        }
        if (fixture.entry["fixef"] as! [Any]).count > 12 {
            #expect(mine.contains("Correlation matrix not shown by default, as p = 14 > 12."))
        }
    }
}
