import Foundation
import Testing
import ModelSpec
@testable import PenalizedLS
import TestSupport

/// lme4 1.1-31's fits of the formulas of issue 11 (Tests/Fixtures/lme4_formulas.json, made by
/// scripts/make_lme4_formula_fixtures.R on the CSV files in Tests/Fixtures/data as mixmc reads
/// them). Names must be identical to lme4's (coefficients, θ, variance components, groups);
/// numbers within the issue's tolerances: objective 1e-6 relative, estimates 1e-4.
struct Lme4FormulaFixture {
    let entry: [String: Any]
    var name: String { entry["name"] as! String }
    var formula: String { entry["formula"] as! String }

    nonisolated(unsafe) static let all: [Lme4FormulaFixture] = {
        let root = try! Fixtures.json("lme4_formulas.json") as! [String: Any]
        return (root["fits"] as! [[String: Any]]).map(Lme4FormulaFixture.init)
    }()
    static var names: [String] { all.map(\.name) }
    static func named(_ name: String) -> Lme4FormulaFixture { all.first { $0.name == name }! }

    /// Fits whose θ lies on a ridge of nearly equal objective (an intercept term beside a full
    /// dummy term on one factor): θ, the SDs and (to 1e-4) the SEs move along it, so only the
    /// objective, β and σ are compared at the optimum; `machinesReachesLme4Optimum` compares
    /// the rest at lme4's own θ.
    static let ridge: Set<String> = ["Machines_uncorr"]
    /// Fits where mixmc found a lower objective than lme4 (recorded for the report).
    nonisolated(unsafe) static var betterOptima: Set<String> = []

    /// The fixture's `options` (R's `contrasts = list(...)`, `relevel`, `ordered`) as mixmc's.
    var contrasts: Contrasts {
        let options = entry["options"] as? [String: Any] ?? [:]
        let ordered = options["ordered"].map { ($0 as? [String]) ?? [$0 as! String] } ?? []
        return Contrasts(kinds: (options["contrasts"] as? [String: String] ?? [:]).mapValues { ContrastKind(name: $0)! },
                         references: options["reference"] as? [String: String] ?? [:], ordered: Set(ordered))
    }

    func design() throws -> Design {
        let parsed = try Formula.parse(formula)
        let categorical = Set(entry["categorical"] as? [String] ?? []).union(Design.variables(of: parsed).grouping)
        let data = try DataTable.read(path: Fixtures.url("data/\(entry["data"] as! String).csv").path, categorical: categorical)
        return try Design.build(data: data, formula: parsed, contrasts: contrasts)
    }

    func fit() throws -> MixedModelFit {
        try MixedModelFit.fit(design(), method: (entry["REML"] as! Bool) ? .reml : .ml)
    }

    func strings(_ key: String, _ field: String) -> [String] {
        (entry[key] as! [[String: Any]]).map { $0[field] as! String }
    }

    func numbers(_ key: String, _ field: String) -> [Double] {
        (entry[key] as! [[String: Any]]).map { ($0[field] as! NSNumber).doubleValue }
    }
}

private func expectClose(_ actual: Double, _ expected: Double, relative: Double, absolute: Double = 1e-6, _ what: String) {
    #expect(isClose(actual, expected, relative: relative, absolute: absolute), "\(what): \(actual) vs lme4 \(expected)")
}

@Test(arguments: Lme4FormulaFixture.names)
func formulaFitMatchesLme4(_ name: String) throws {
    let reference = Lme4FormulaFixture.named(name)
    let fit = try reference.fit()
    expectClose(fit.objective, reference.entry["objective"] as! Double, relative: 1e-6, absolute: 0, "\(name) objective")
    #expect(fit.observationCount == reference.entry["nobs"] as! Int)
    #expect(fit.fixedEffects.map(\.name) == reference.strings("fixef", "name"), "\(name): coefficient names")
    for (effect, (estimate, standardError)) in zip(fit.fixedEffects, zip(reference.numbers("fixef", "estimate"), reference.numbers("fixef", "std_error"))) {
        expectClose(effect.estimate, estimate, relative: 1e-4, "\(name) β \(effect.name)")
        if !Lme4FormulaFixture.ridge.contains(name) {
            expectClose(effect.standardError, standardError, relative: 1e-4, "\(name) SE \(effect.name)")
        }
    }
    expectClose(fit.sigma, reference.entry["sigma"] as! Double, relative: 1e-4, "\(name) σ")
    #expect(fit.thetaNames == reference.strings("theta", "name"), "\(name): θ names")

    // Variance components as lme4's as.data.frame(VarCorr(fit)): SDs per term, then correlations.
    var rows: [(group: String, first: String, second: String, value: Double)] = []
    for component in fit.varianceComponents {
        for (index, coefficient) in component.names.enumerated() {
            rows.append((component.group, coefficient, "", component.standardDeviations[index]))
        }
        for c in 0..<component.names.count { for r in (c + 1)..<max(component.names.count, c + 1) {
            rows.append((component.group, component.names[c], component.names[r], component.correlations[r][c]))
        } }
    }
    rows.append(("Residual", "", "", fit.sigma))
    #expect(rows.map(\.group) == reference.strings("varcorr", "grp"), "\(name): variance-component groups")
    #expect(rows.map(\.first) == reference.strings("varcorr", "var1"), "\(name): variance-component names")
    #expect(rows.map(\.second) == reference.strings("varcorr", "var2"), "\(name): correlation names")
    #expect(fit.isSingular == reference.entry["singular"] as! Bool, "\(name): singular")
    #expect(fit.converged, "\(name): \(fit.convergence.messages)")
    guard !Lme4FormulaFixture.ridge.contains(name) else { return }
    // Where mixmc's optimum is lower than lme4's (tight) one, lme4 stopped early on a flat
    // surface and its θ is not the optimum; the objective comparison above is the test there.
    let lme4Objective = reference.entry["objective"] as! Double
    if fit.objective < lme4Objective - 1e-10 * abs(lme4Objective) {
        Lme4FormulaFixture.betterOptima.insert(name)
        return
    }
    for (theta, expected) in zip(fit.theta, reference.numbers("theta", "value")) {
        expectClose(theta, expected, relative: 1e-4, "\(name) θ")
    }
    for (row, expected) in zip(rows, reference.numbers("varcorr", "sdcor")) {
        expectClose(row.value, expected, relative: 1e-4, absolute: 1e-4, "\(name) \(row.group) \(row.first) \(row.second)")
    }
}

/// Item 5 of issue 11: the Machines fit reaches lme4's optimum, and its convergence claim is
/// backed by the gradient there.
@Test func machinesReachesLme4Optimum() throws {
    let fit = try Lme4FormulaFixture.named("Machines_uncorr").fit()
    #expect(fit.objective < 208.3113, "REML criterion \(fit.objective); the boundary minimum is 211.7820")
    #expect(fit.converged)
    #expect(fit.convergence.passed && fit.convergence.messages.isEmpty, "\(fit.convergence.messages)")
    #expect(fit.convergence.maximumScaledGradient! < ConvergenceCheck.gradientTolerance)

    // At lme4's θ (208.3112186, 2.9e-7 above mixmc's optimum; the SEs move 1.1e-4 relative
    // between the two points of the ridge) every number is lme4's.
    let reference = Lme4FormulaFixture.named("Machines_uncorr")
    let objective = ProfiledObjective(design: try reference.design(), method: .reml)
    let theta = reference.numbers("theta", "value")
    expectClose(objective(theta), reference.entry["objective"] as! Double, relative: 1e-10, absolute: 0, "objective at lme4's θ")
    let solution = try PenalizedSolution(objective: objective, theta: theta)
    for (mine, expected) in zip(solution.betaStandardErrors, reference.numbers("fixef", "std_error")) {
        expectClose(mine, expected, relative: 1e-8, "SE at lme4's θ")
    }
    expectClose(solution.sigma, reference.entry["sigma"] as! Double, relative: 1e-8, "σ at lme4's θ")
    for (component, expected) in zip(solution.varianceComponents.flatMap(\.standardDeviations), reference.numbers("varcorr", "sdcor").prefix(4)) {
        expectClose(component, expected, relative: 1e-8, "SD at lme4's θ")
    }
}

/// lme4's `groups:` line names each grouping factor once and wraps at 80 characters as R's
/// `cat(fill = TRUE)` does.
@Test(arguments: Lme4FormulaFixture.names)
func groupsLineMatchesLme4(_ name: String) throws {
    let reference = Lme4FormulaFixture.named(name)
    let fit = try reference.fit()
    let mine = fit.summaryText(formula: reference.formula, dataName: reference.entry["data"] as! String).split(separator: "\n", omittingEmptySubsequences: false)
    let theirs = reference.entry["summary"] as! [String]
    let start = try #require(theirs.firstIndex { $0.hasPrefix("Number of obs") })
    let myStart = try #require(mine.firstIndex { $0.hasPrefix("Number of obs") })
    let count = theirs[start].count > 60 ? 2 : 1
    #expect(mine[myStart..<myStart + count].map(String.init) == Array(theirs[start..<start + count]))
}
