import Foundation
import Testing
import TestSupport

/// `mixmc fit` on binomial and Poisson models against lme4's printed `summary()` of the same
/// fits with PIRLS converged (Tests/Fixtures/lme4_glmm_summaries, scripts/make_glmm_summary_fixtures.R):
/// every line the same but `Data:` (lme4 names its R object) and lme4's `Control:` line; mixmc
/// may add notes after lme4's last line.
@Suite struct GLMMSummaryLayoutTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var fixture: String
        var arguments: [String]
        var testDescription: String { fixture }
    }

    static let cases = [
        Case(fixture: "cbpp", arguments: ["models/cbpp"]),
        Case(fixture: "cbpp_agq25", arguments: ["models/cbpp", "--nagq", "25"]),
        Case(fixture: "cbpp_probit", arguments: ["models/cbpp", "--link", "probit"]),
        Case(fixture: "grouseticks", arguments: ["models/grouseticks"]),
    ]

    static func comparable(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.hasPrefix("   Data: ") && !$0.hasPrefix("Control: ") }
    }

    @Test(arguments: cases)
    func matchesLme4sPrintedSummary(_ layoutCase: Case) throws {
        let expected = try String(contentsOf: Fixtures.url("lme4_glmm_summaries/\(layoutCase.fixture).txt"), encoding: .utf8)
        let result = try runMixmc(["fit"] + layoutCase.arguments)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let lme4 = Self.comparable(expected).dropLast(while: { $0.isEmpty })
        let ours = Self.comparable(result.standardOutput)
        #expect(ours.count >= lme4.count)
        for (index, line) in lme4.enumerated() where index < ours.count {
            #expect(Self.sameLayout(ours[index], line), "line \(index + 1): mixmc «\(ours[index])», lme4 «\(line)»")
        }
    }

    /// The same line, or the same width and words with numbers equal to 1e-4 relative: lme4's
    /// converged fit and ours agree to about 1e-5, which can move a p-value's sixth digit.
    static func sameLayout(_ ours: String, _ theirs: String) -> Bool {
        if ours == theirs { return true }
        let a = ours.split(separator: " "), b = theirs.split(separator: " ")
        guard ours.count == theirs.count, a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            if x == y { return true }
            guard let u = Double(x), let v = Double(y) else { return false }
            return abs(u - v) <= 1e-4 * max(abs(u), abs(v))
        }
    }
}

private extension Array where Element == String {
    func dropLast(while predicate: (String) -> Bool) -> ArraySlice<String> {
        var end = count
        while end > 0 && predicate(self[end - 1]) { end -= 1 }
        return self[..<end]
    }
}
