import Foundation
import Testing
import ModelSpec
import PenalizedLS
import TestSupport

/// lme4 1.1-31's fits (Tests/Fixtures/lme4_fits.json, from ../shared/data/reference): every
/// number mixmc reports must match them. Tolerances are the issue's: objective 1e-6 relative;
/// θ, σ, β, SEs, SDs 1e-4 relative (1e-6 absolute near zero); conditional modes 1e-4.
/// lme4_fits.json (../shared/data/reference) and lme4_fits_more.json (scripts/make_lme4_fixtures.R:
/// Penicillin, crossed; Pastes, nested), merged.
private var fits: [String: [String: Any]] {
    var all: [String: [String: Any]] = [:]
    for file in ["lme4_fits.json", "lme4_fits_more.json"] {
        let reference = try! Fixtures.json(file) as! [String: Any]
        all.merge(reference["fits"] as! [String: [String: Any]]) { a, _ in a }
    }
    return all
}
private let fitNames = ["sleepstudy_corr_REML", "sleepstudy_corr_ML", "sleepstudy_int_REML", "sleepstudy_int_ML",
                        "sleepstudy_uncorr_REML", "sleepstudy_uncorr_ML", "Dyestuff_REML", "Dyestuff_ML",
                        "Dyestuff2_REML", "Dyestuff2_ML", "Penicillin_REML", "Penicillin_ML", "Pastes_REML", "Pastes_ML"]

/// The reference's data set: Tests/Fixtures/data/NAME.csv, else the model directory models/NAME/.
private func dataPath(_ name: String) -> String {
    let fixture = Fixtures.url("data/\(name).csv")
    if FileManager.default.fileExists(atPath: fixture.path) { return fixture.path }
    return Fixtures.repositoryRoot.appendingPathComponent("models/\(name)/data.csv").path
}

private func fitModel(_ name: String) throws -> (MixedModelFit, [String: Any]) {
    let entry = fits[name]!
    let formula = try Formula.parse(entry["formula"] as! String)
    let data = try DataTable.read(path: dataPath(entry["data"] as! String), categorical: Design.variables(of: formula).grouping)
    let design = try Design.build(data: data, formula: formula)
    let fit = try MixedModelFit.fit(design, method: (entry["REML"] as! Bool) ? .reml : .ml)
    return (fit, entry)
}

private func expectClose(_ actual: Double, _ expected: Double, relative: Double, absolute: Double = 1e-6, _ what: String) {
    #expect(isClose(actual, expected, relative: relative, absolute: absolute), "\(what): \(actual) vs lme4 \(expected)")
}

@Test(arguments: fitNames)
func matchesLme4(_ name: String) throws {
    #expect(Set(fits.keys) == Set(fitNames), "every reference fit is tested")
    let (fit, entry) = try fitModel(name)
    let reml = entry["REML"] as! Bool
    let objective = (reml ? entry["REML_criterion"] : entry["deviance"]) as! Double
    expectClose(fit.objective, objective, relative: 1e-6, absolute: 0, "\(name) objective")
    expectClose(fit.logLikelihood, entry["logLik"] as! Double, relative: 1e-6, absolute: 0, "\(name) logLik")
    expectClose(fit.aic, entry["AIC"] as! Double, relative: 1e-6, absolute: 0, "\(name) AIC")
    expectClose(fit.bic, entry["BIC"] as! Double, relative: 1e-6, absolute: 0, "\(name) BIC")
    #expect(fit.observationCount == entry["nobs"] as! Int)
    // The convergence claim is lme4's derivative check at the optimum (ConvergenceCheck).
    #expect(fit.converged && fit.convergence.passed, "\(name): \(fit.convergence.messages)")
    #expect(fit.isSingular == entry["is_singular"] as! Bool, "\(name): singular")

    let theta = entry["theta"] as! [String: Double]
    #expect(fit.thetaNames.sorted() == theta.keys.sorted(), "θ names")
    for (index, thetaName) in fit.thetaNames.enumerated() {
        expectClose(fit.theta[index], theta[thetaName] ?? .nan, relative: 1e-4, "\(name) θ \(thetaName)")
    }
    expectClose(fit.sigma, entry["sigma"] as! Double, relative: 1e-4, "\(name) σ")

    let fixef = entry["fixef"] as! [String: [String: Double]]
    #expect(fit.fixedEffects.map(\.name).sorted() == fixef.keys.sorted())
    for effect in fit.fixedEffects {
        expectClose(effect.estimate, fixef[effect.name]!["estimate"]!, relative: 1e-4, "\(name) β \(effect.name)")
        expectClose(effect.standardError, fixef[effect.name]!["std_error"]!, relative: 1e-4, "\(name) SE \(effect.name)")
    }

    // Variance components in lme4's order and names (a repeated group name is `Subject.1`, as lme4 makes it unique).
    var expectedComponents = (entry["varcomp"] as! [[String: Any]]).filter { ($0["grp"] as! String) != "Residual" }
    for component in fit.varianceComponents {
        for (index, coefficient) in component.names.enumerated() {
            let position = expectedComponents.firstIndex {
                $0["grp"] as! String == component.group && $0["var1"] as! String == coefficient && ($0["var2"] as! String).isEmpty
            }
            try #require(position != nil, "\(name): no lme4 SD for \(component.group) \(coefficient)")
            let expected = expectedComponents.remove(at: position!)
            expectClose(component.standardDeviations[index], expected["sdcor"] as! Double, relative: 1e-4, "\(name) SD \(component.group) \(coefficient)")
            for other in 0..<index {
                let corr = expectedComponents.firstIndex {
                    $0["var1"] as! String == component.names[other] && $0["var2"] as! String == coefficient
                }
                try #require(corr != nil)
                let expectedCorrelation = expectedComponents.remove(at: corr!)
                expectClose(component.correlations[index][other], expectedCorrelation["sdcor"] as! Double, relative: 1e-4, "\(name) corr")
            }
        }
    }
    #expect(expectedComponents.isEmpty, "lme4 components left unmatched: \(expectedComponents)")

    // Conditional modes and SDs of the first five levels, matched by label.
    let ranef = entry["ranef_first5"] as! [String: [String: Any]]
    for (group, values) in ranef {
        let levels = values["levels"] as! [String]
        let modes = values["modes"] as! [String: [Double]]
        let sds = values["cond_sd"] as! [String: [Double]]
        for (coefficient, expectedModes) in modes {
            let term = try #require(fit.randomEffects.first { $0.group == group && $0.coefficientNames.contains(coefficient) })
            let c = term.coefficientNames.firstIndex(of: coefficient)!
            #expect(term.levels.count == values["n_levels"] as! Int)
            for (i, level) in levels.enumerated() {
                let h = try #require(term.levels.firstIndex(of: level))
                expectClose(term.modes[h][c], expectedModes[i], relative: 1e-4, absolute: 1e-6, "\(name) mode \(group) \(level) \(coefficient)")
                expectClose(term.conditionalStandardDeviations[h][c], sds[coefficient]![i], relative: 1e-4, absolute: 1e-6, "\(name) cond SD \(group) \(level) \(coefficient)")
            }
        }
    }
}

@Test func dyestuff2VarianceIsExactlyZero() throws {
    for name in ["Dyestuff2_REML", "Dyestuff2_ML"] {
        let (fit, _) = try fitModel(name)
        #expect(fit.theta == [0], "\(name): θ = \(fit.theta)")
        #expect(fit.varianceComponents[0].standardDeviations == [0])
        #expect(fit.isSingular)
    }
}
