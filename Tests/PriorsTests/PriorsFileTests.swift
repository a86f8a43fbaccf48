import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// The example of docs/priors.md, "The file".
private let fullExample = """
    [fixed]                          # β ~ Normal(mean, sd)
    default = { mean = 0, sd = 1000 }
    "Days" = { mean = 0, sd = 50 }   # per coefficient
    [sigma]                          # residual SD ~ half-Cauchy(0, scale)
    scale = 100
    [tau]                            # random-effect SDs ~ half-Cauchy(0, scale)
    default = { scale = 100 }
    [tau.Subject]                    # per grouping factor ...
    Days = { scale = 20 }            # ... and per coefficient of that term
    [correlation]                    # correlation matrix of a correlated term ~ LKJ(eta)
    default = { eta = 1 }
    Subject = { eta = 2 }
    """

@Suite struct PriorsFileTests {
    @Test func fullExampleOnSleepstudy() throws {
        let priors = try PriorSet.parse(text: fullExample, source: "priors.toml", design: Designs.sleepstudy)
        #expect(priors.fixed == [NormalPrior(mean: 0, sd: 1000), NormalPrior(mean: 0, sd: 50)])
        #expect(priors.sigmaScale == 100)
        #expect(priors.tauScales == [[100, 20]])
        #expect(priors.lkjEta == [2])
        #expect(priors.describe(design: Designs.sleepstudy) == [
            "b_Intercept ~ normal(0, 1000)",
            "b_Days ~ normal(0, 50)",
            "sigma ~ half-cauchy(0, 100)",
            "sd_Subject__Intercept ~ half-cauchy(0, 100)",
            "sd_Subject__Days ~ half-cauchy(0, 20)",
            "cor_Subject ~ lkj(2)",
        ])
    }

    /// Reference values: mean(Reaction) = 298.5079, sd(Reaction) = 56.32876, mean(Days) = 4.5,
    /// sd(Days) = 2.880293 (R's mean and sd on lme4's sleepstudy).
    @Test func sleepstudyDefaults() {
        let priors = PriorSet.defaults(for: Designs.sleepstudy)
        let sy = 56.32875712523514
        #expect(isClose(priors.fixed[0].mean, 298.50789166666664, relative: 1e-12))
        #expect(isClose(priors.fixed[0].sd, 10 * sy * (1 + (4.5 / 2.880293281156428) * (4.5 / 2.880293281156428)).squareRoot(), relative: 1e-12))
        #expect(isClose(priors.fixed[0].sd, 1044.8808461016483, relative: 1e-12))
        #expect(priors.fixed[1].mean == 0)
        #expect(isClose(priors.fixed[1].sd, 195.5660470194179, relative: 1e-12))
        #expect(isClose(priors.sigmaScale, sy, relative: 1e-12))
        #expect(priors.tauScales.count == 1)
        #expect(isClose(priors.tauScales[0][0], sy, relative: 1e-12))
        #expect(isClose(priors.tauScales[0][1], 19.55660470194179, relative: 1e-12))
        #expect(priors.lkjEta == [1])
        #expect(priors.describe(design: Designs.sleepstudy) == [
            "b_Intercept ~ normal(298.508, 1044.88)",
            "b_Days ~ normal(0, 195.566)",
            "sigma ~ half-cauchy(0, 56.3288)",
            "sd_Subject__Intercept ~ half-cauchy(0, 56.3288)",
            "sd_Subject__Days ~ half-cauchy(0, 19.5566)",
            "cor_Subject ~ lkj(1)",
        ])
    }

    /// mean(Yield) = 1527.5, sd(Yield) = 63.02367.
    @Test func dyestuffDefaults() {
        let priors = PriorSet.defaults(for: Designs.dyestuff)
        #expect(priors.fixed.count == 1)
        #expect(priors.fixed[0].mean == 1527.5)
        #expect(isClose(priors.fixed[0].sd, 10 * 63.023668241547874, relative: 1e-12))
        #expect(isClose(priors.sigmaScale, 63.023668241547874, relative: 1e-12))
        #expect(priors.tauScales.count == 1 && isClose(priors.tauScales[0][0], 63.023668241547874, relative: 1e-12))
        #expect(priors.lkjEta == [1])
        #expect(!priors.describe(design: Designs.dyestuff).contains { $0.hasPrefix("cor_") })
    }

    @Test func emptyFileGivesTheDefaults() throws {
        for design in [Designs.sleepstudy, Designs.dyestuff, Designs.nested] {
            #expect(try PriorSet.parse(text: "# nothing\n", source: "p.toml", design: design) == PriorSet.defaults(for: design))
        }
    }

    @Test func missingEntriesFallBackToTheDataDefaults() throws {
        let priors = try PriorSet.parse(text: "[fixed]\nDays = { sd = 5 }\n[tau.Subject]\nIntercept = { scale = 7 }\n",
                                        source: "p.toml", design: Designs.sleepstudy)
        let defaults = PriorSet.defaults(for: Designs.sleepstudy)
        #expect(priors.fixed == [defaults.fixed[0], NormalPrior(mean: 0, sd: 5)])
        #expect(priors.sigmaScale == defaults.sigmaScale)
        #expect(priors.tauScales == [[7, defaults.tauScales[0][1]]])
        #expect(priors.lkjEta == [1])
    }

    @Test func interceptSpellings() throws {
        for key in ["Intercept", "\"(Intercept)\""] {
            let priors = try PriorSet.parse(text: "[fixed]\n\(key) = { mean = 300, sd = 40 }\n", source: "p.toml", design: Designs.sleepstudy)
            #expect(priors.fixed[0] == NormalPrior(mean: 300, sd: 40))
        }
        let error = parseError("[fixed]\nIntercept = { sd = 1 }\n\"(Intercept)\" = { sd = 2 }\n")
        #expect(error == PriorsError(file: "priors.toml", line: 3, keyPath: "fixed.\"(Intercept)\"",
                                     message: "'(Intercept)' and 'Intercept' name the same coefficient", fix: "give its prior once"))
    }

    @Test func inlineAndDottedFormsAreTheSame() throws {
        let inline = try PriorSet.parse(text: "sigma = { scale = 3 }\ntau = { Subject = { Days = { scale = 2 } } }\n",
                                        source: "p.toml", design: Designs.sleepstudy)
        let dotted = try PriorSet.parse(text: "sigma.scale = 3\n[tau]\nSubject.Days.scale = 2\n",
                                        source: "p.toml", design: Designs.sleepstudy)
        #expect(inline == dotted)
        #expect(inline.sigmaScale == 3 && inline.tauScales[0][1] == 2)
    }

    /// `(Days || Subject)` gives two terms named Subject; a [tau.Subject] entry goes to the term
    /// that has the coefficient, and there is no correlation to put a prior on.
    @Test func termsSharingAGroupingName() throws {
        let design = Designs.sleepstudyUncorrelated
        #expect(design.terms.map(\.groupingName) == ["Subject", "Subject"])
        #expect(design.terms.map(\.coefficientNames) == [["(Intercept)"], ["Days"]])
        let priors = try PriorSet.parse(text: "[tau.Subject]\nDays = { scale = 20 }\nIntercept = { scale = 30 }\n", source: "p.toml", design: design)
        #expect(priors.tauScales == [[30], [20]])
        #expect(priors.lkjEta == [1, 1])
        let whole = try PriorSet.parse(text: "[tau.Subject]\nscale = 9\n", source: "p.toml", design: design)
        #expect(whole.tauScales == [[9], [9]])
        #expect(parseError("[correlation]\nSubject = { eta = 2 }\n", design: design) == PriorsError(
            file: "priors.toml", line: 2, keyPath: "correlation.Subject",
            message: "grouping factor 'Subject' has no correlation: each of its terms has a single coefficient ((Intercept); Days)",
            fix: "remove this entry; an LKJ prior applies to a term with two or more coefficients, such as (Days | Subject)"))
    }

    @Test func nestedGroupingNames() throws {
        let design = Designs.nested
        #expect(design.terms.map(\.groupingName) == ["cask:batch", "batch"])
        let priors = try PriorSet.parse(text: """
            [tau]
            default = { scale = 4 }
            batch = { scale = 2 }
            [tau."cask:batch"]
            Intercept = { scale = 3 }
            """, source: "p.toml", design: design)
        #expect(priors.tauScales == [[3], [2]])
        // The header names the chain columns (OutputColumns), not the lme4 names.
        #expect(priors.describe(design: design).suffix(2) == ["sd_cask_batch__Intercept ~ half-cauchy(0, 3)", "sd_batch__Intercept ~ half-cauchy(0, 2)"])
        #expect(priors.describe(design: design).suffix(2).map { String($0.prefix { $0 != " " }) }
                == Array(OutputColumns(design: design).names.suffix(from: 3).prefix(2)))
        let onlyDefault = try PriorSet.parse(text: "[tau]\ndefault = { scale = 4 }\n", source: "p.toml", design: design)
        #expect(onlyDefault.tauScales == [[4], [4]])
    }

    @Test func fixedDefaultAppliesToEveryCoefficient() throws {
        let priors = try PriorSet.parse(text: "[fixed]\ndefault = { mean = 1, sd = 2.5 }\n", source: "p.toml", design: Designs.sleepstudy)
        #expect(priors.fixed == [NormalPrior(mean: 1, sd: 2.5), NormalPrior(mean: 1, sd: 2.5)])
    }

    @Test func correlationDefaultAndPerGroup() throws {
        let byDefault = try PriorSet.parse(text: "[correlation]\ndefault = { eta = 3 }\n", source: "p.toml", design: Designs.sleepstudy)
        #expect(byDefault.lkjEta == [3])
        // A default never gives a single-coefficient term an η other than 1, and is not an error.
        let dyestuff = try PriorSet.parse(text: "[correlation]\ndefault = { eta = 3 }\n", source: "p.toml", design: Designs.dyestuff)
        #expect(dyestuff.lkjEta == [1])
    }

    @Test func modelDirectoryPriorsFiles() throws {
        let sleepstudy = try ModelDirectory.load(path: Fixtures.repositoryRoot.appendingPathComponent("models/sleepstudy").path)
        let sleepstudyPriors = try PriorSet.load(path: try #require(sleepstudy.priorsPath), design: Designs.sleepstudy)
        #expect(sleepstudyPriors == PriorSet(fixed: [NormalPrior(mean: 0, sd: 1000), NormalPrior(mean: 0, sd: 1000)],
                                             sigmaScale: 100, tauScales: [[100, 100]], lkjEta: [1]))
        let dyestuff = try ModelDirectory.load(path: Fixtures.repositoryRoot.appendingPathComponent("models/dyestuff").path)
        let dyestuffPriors = try PriorSet.load(path: try #require(dyestuff.priorsPath), design: Designs.dyestuff)
        #expect(dyestuffPriors == PriorSet(fixed: [NormalPrior(mean: 0, sd: 1000)], sigmaScale: 100, tauScales: [[100]], lkjEta: [1]))
    }

    @Test func loadReportsAMissingFile() {
        #expect(throws: PriorsError(file: "/nonexistent/priors.toml", message: "no such file",
                                    fix: "check the path; `priors` in model.toml is relative to the model directory")) {
            try PriorSet.load(path: "/nonexistent/priors.toml", design: Designs.sleepstudy)
        }
    }

    @Test func loadReadsAFileAndNamesItInErrors() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-priors-\(UUID().uuidString).toml")
        try "[sigma]\nscale = 0\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: PriorsError(file: url.path, line: 2, keyPath: "sigma.scale", message: "scale must be positive; got 0",
                                    fix: "write a positive number, as in scale = 10")) {
            try PriorSet.load(path: url.path, design: Designs.sleepstudy)
        }
    }

    @Test func errorDescriptionReadsLikeADiagnostic() {
        let error = PriorsError(file: "p.toml", line: 3, keyPath: "tau.Subject.Dayz", message: "unknown coefficient", fix: "rename it")
        #expect(error.description == "p.toml:3: tau.Subject.Dayz: unknown coefficient\n  fix: rename it")
        let syntax = PriorsError(file: "p.toml", line: 2, column: 7, message: "TOML syntax error: x", fix: "y")
        #expect(syntax.description == "p.toml:2:7: TOML syntax error: x\n  fix: y")
    }
}
