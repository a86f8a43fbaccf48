import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// Priors of binomial and Poisson models (docs/priors.md, "Binomial and Poisson models"): no σ,
/// link-scale defaults.
@Suite struct GeneralizedPriorsTests {
    static let cbpp: Design = {
        let data = try! DataTable.read(path: Fixtures.url("data/cbpp_labels.csv").path, categorical: ["herd", "period"])
        return try! Design.build(data: data, formula: Formula.parse("cbind(incidence, size - incidence) ~ period + (1 | herd)"),
                                 family: Family(.binomial))
    }()

    @Test func sigmaTableIsRefused() {
        #expect(throws: PriorsError(file: "priors.toml", line: 1, keyPath: "sigma",
                                    message: "a binomial model has no residual SD σ, so [sigma] sets nothing",
                                    fix: "remove the [sigma] table (the binomial variance is set by its mean)")) {
            try PriorSet.parse(text: "[sigma]\nscale = 2\n", source: "priors.toml", design: Self.cbpp)
        }
    }

    @Test func defaultsAreOnTheLinkScaleAndDescribeHasNoSigma() throws {
        let priors = PriorSet.defaults(for: Self.cbpp)
        // Intercept ~ Normal(0, 10 √(1 + Σ (x̄/s)²)); the τ scale is 5 for an intercept term.
        #expect(priors.fixed[0].mean == 0)
        #expect(priors.tauScales == [[5]])
        let lines = priors.describe(design: Self.cbpp)
        #expect(!lines.contains { $0.hasPrefix("sigma") })
        #expect(lines.last == "sd_herd__Intercept ~ half-cauchy(0, 5)")
        let file = try PriorSet.parse(text: "[fixed]\ndefault = { mean = 0, sd = 10 }\n[tau]\ndefault = { scale = 5 }\n",
                                      source: "priors.toml", design: Self.cbpp)
        #expect(file.fixed.allSatisfy { $0 == NormalPrior(mean: 0, sd: 10) })
    }
}
