import Foundation
import Testing
import TestSupport

/// The bad-input corpus for binomial and Poisson responses and the family flags
/// (Tests/Fixtures/bad-inputs/glmm-*.csv): each case runs `mixmc fit` and checks the exact
/// stderr, exit status 1 and an empty stdout; `sample` reports the same data error and writes
/// nothing.
@Suite struct GLMMBadInputTests {
    static let dir = "Tests/Fixtures/bad-inputs"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var arguments: [String]
        var stderr: String
        var testDescription: String { name }
    }

    static func dataCase(_ file: String, _ formula: String, family: String, extra: [String] = [], _ stderr: String) -> Case {
        Case(name: file + " " + family, arguments: ["--data", "\(dir)/\(file)", "--formula", formula, "--family", family] + extra, stderr: stderr)
    }

    static let cases: [Case] = [
        dataCase("glmm-outside-unit.csv", "y ~ x + (1 | g)", family: "binomial", """
            error: \(dir)/glmm-outside-unit.csv:5: the binomial response y is 1.5 at line 5, outside [0, 1]
              fix: give 0/1 outcomes, proportions with --weights TRIALS, or counts as cbind(successes, failures)

            """),
        dataCase("glmm-proportion-no-weights.csv", "y ~ x + (1 | g)", family: "binomial", """
            error: \(dir)/glmm-proportion-no-weights.csv:4: the binomial response y is 0.5 at line 4; without --weights it must be 0 or 1
              fix: for a proportion give the trials with --weights COLUMN, or give counts as cbind(successes, failures)

            """),
        dataCase("glmm-proportion-weights.csv", "y ~ x + (1 | g)", family: "binomial", extra: ["--weights", "n"], """
            error: \(dir)/glmm-proportion-weights.csv:4: y × n = 1.5 successes at line 4, not a whole number
              fix: the weights of a proportion are its numbers of trials; check both columns at line 4

            """),
        dataCase("glmm-cbind-counts.csv", "cbind(s, n - s) ~ x + (1 | g)", family: "binomial", """
            error: \(dir)/glmm-cbind-counts.csv:4: successes (s) is 2.5 at line 4, not a whole number
              fix: give whole counts; for a proportion of n trials use cbind(successes, failures) or --weights TRIALS

            """),
        dataCase("glmm-more-successes.csv", "cbind(s, n - s) ~ x + (1 | g)", family: "binomial", """
            error: \(dir)/glmm-more-successes.csv:7: failures (n - s) is -1 at line 7: more successes than trials
              fix: check the successes and trials at line 7; cbind() takes successes and failures (trials − successes)

            """),
        dataCase("glmm-three-levels.csv", "answer ~ x + (1 | g)", family: "binomial", """
            error: \(dir)/glmm-three-levels.csv:4: the binomial response answer has 3 levels (maybe, no, yes); a binary response has two
              fix: recode answer to two levels (the first level, in sorted order, is failure), or give counts as cbind(successes, failures)

            """),
        dataCase("glmm-negative-count.csv", "count ~ x + (1 | g)", family: "poisson", """
            error: \(dir)/glmm-negative-count.csv:4: the Poisson response (count) is -1 at line 4; counts are whole numbers 0, 1, 2, …
              fix: correct the value at line 4, or write a missing value as NA

            """),
        dataCase("glmm-fractional-count.csv", "count ~ x + (1 | g)", family: "poisson", """
            error: \(dir)/glmm-fractional-count.csv:5: the Poisson response (count) is 2.5 at line 5, not a whole number
              fix: give whole counts; a rate goes in as the count with offset(log(exposure)) on the right

            """),
        dataCase("glmm-cbind-counts.csv", "cbind(s, n - s) ~ x + (1 | g)", family: "gaussian", """
            error: formula error: cbind(successes, failures) is a binomial response; fit it with --family binomial
              cbind(s, n - s) ~ x + (1 | g)
              ^

            """),
        dataCase("glmm-negative-count.csv", "count ~ x + (1 | g)", family: "poison", """
            error: unknown family 'poison'; the families are gaussian, binomial, poisson
              fix: give --family gaussian, binomial or poisson (or family = "..." in model.toml)

            """),
        dataCase("glmm-negative-count.csv", "count ~ x + (1 | g)", family: "poisson", extra: ["--link", "logit"], """
            error: the poisson family has no link 'logit'; its links are log
              fix: give --link with one of log, or leave it out for the default (log)

            """),
    ]

    @Test(arguments: cases)
    func fitReportsTheResponseProblem(_ badCase: Case) throws {
        let result = try runMixmc(["fit"] + badCase.arguments)
        #expect(result.status == 1)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError == badCase.stderr)
    }

    @Test(arguments: cases)
    func sampleReportsItAndWritesNothing(_ badCase: Case) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-glmm-bad-\(UUID().uuidString)")
        let result = try runMixmc(["sample"] + badCase.arguments + ["--output", output.path])
        #expect(result.status == 1)
        #expect(result.standardError == badCase.stderr)
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func quadratureRefusesSeveralTerms() throws {
        let result = try runMixmc(["fit", "models/grouseticks", "--nagq", "5"])
        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix("error: adaptive Gauss-Hermite quadrature (--nagq > 1) integrates one scalar random effect per group, as lme4 allows; this model has"))
    }
}
