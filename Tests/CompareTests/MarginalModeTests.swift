import Foundation
import Testing
import Diagnostics
import ModelSpec
import PenalizedLS
import TestSupport

/// The flat-prior marginal posterior mode of (θ, σ) against lme4's REML fits
/// (Tests/Fixtures/lme4_fits.json, lme4_fits_more.json): the two coincide mathematically, so θ
/// and σ must agree within the REML tests' own tolerance, 1e-4 relative, and the integrated
/// log-likelihood at the mode must equal −½ × lme4's REML criterion.
private func reference(_ name: String) throws -> [String: Any] {
    for file in ["lme4_fits.json", "lme4_fits_more.json"] {
        let fits = (try Fixtures.json(file) as! [String: Any])["fits"] as! [String: [String: Any]]
        if let entry = fits[name] { return entry }
    }
    throw CocoaError(.fileNoSuchFile)
}

private func design(for entry: [String: Any]) throws -> Design {
    let name = entry["data"] as! String
    let fixture = Fixtures.url("data/\(name).csv")
    let path = FileManager.default.fileExists(atPath: fixture.path)
        ? fixture.path : Fixtures.repositoryRoot.appendingPathComponent("models/\(name)/data.csv").path
    let formula = try Formula.parse(entry["formula"] as! String)
    return try Design.build(data: try DataTable.read(path: path, categorical: Design.variables(of: formula).grouping), formula: formula)
}

@Test(arguments: ["sleepstudy_corr_REML", "Dyestuff_REML", "Penicillin_REML"])
func marginalModeEqualsLme4REML(_ name: String) throws {
    let entry = try reference(name)
    let design = try design(for: entry)
    let mode = try FlatPriorMarginalMode.compute(design: design)
    #expect(mode.converged)
    let theta = entry["theta"] as! [String: Double]
    #expect(mode.thetaNames.sorted() == theta.keys.sorted())
    for (index, thetaName) in mode.thetaNames.enumerated() {
        let expected = theta[thetaName]!
        #expect(relativeError(mode.theta[index], expected) <= 1e-4, "\(name) θ \(thetaName): \(mode.theta[index]) vs lme4 \(expected)")
        // The start is far from the answer: the optimizer did the work.
        #expect(abs(mode.startTheta[index] - expected) > 1e-2 * max(abs(expected), 1e-2), "\(name): start too close to the answer")
    }
    let sigma = entry["sigma"] as! Double
    #expect(relativeError(mode.sigma, sigma) <= 1e-4, "\(name) σ: \(mode.sigma) vs lme4 \(sigma)")
    let criterion = entry["REML_criterion"] as! Double
    #expect(relativeError(-2 * mode.logLikelihood, criterion) <= 1e-6, "\(name): −2 log p(y | θ̂, σ̂) = \(-2 * mode.logLikelihood) vs REML criterion \(criterion)")
}

/// Away from the mode the integrated likelihood is the REML likelihood too: −2 log p(y | θ, σ) at
/// σ = σ̂(θ) = √(r²/(n − p)) is the profiled REML criterion of PenalizedLS, at an arbitrary θ.
@Test func integratedLikelihoodIsTheREMLCriterionAwayFromTheMode() throws {
    let design = try design(for: try reference("sleepstudy_corr_REML"))
    let fit = try MixedModelFit.fit(design)
    let mode = try FlatPriorMarginalMode.compute(design: design)
    // At the mode, both are at their optimum; compare the values there and σ.
    #expect(relativeError(-2 * mode.logLikelihood, fit.objective) <= 1e-8)
    let differences = mode.relativeDifferences(to: fit)
    #expect(differences.theta.allSatisfy { $0 <= 1e-4 }, "\(differences.theta)")
    #expect(differences.sigma <= 1e-4)
}
