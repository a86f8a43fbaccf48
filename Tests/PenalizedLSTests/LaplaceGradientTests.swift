import Foundation
import Testing
import ModelSpec
import TestSupport
@testable import PenalizedLS

/// The closed-form gradient of the Laplace deviance (docs/math.md, eq. 77a) checked against
/// central differences of the deviance itself, and the Hessian from its differences against
/// lme4's four-point differences of the deviance (eq. 80): derivatives two ways.
@Suite struct LaplaceGradientTests {
    static let models: [(data: String, formula: String, family: Family.Kind, link: Link)] = [
        ("models/cbpp/data.csv", "cbind(incidence, size - incidence) ~ period + (1 | herd)", .binomial, .logit),
        ("models/grouseticks/data.csv", "TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", .poisson, .log),
        ("models/verbagg/data.csv", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", .binomial, .logit),
        ("Tests/Fixtures/data/sim_poisson_offset.csv", "y ~ x + offset(log_t) + (1 | g)", .poisson, .log),
    ]

    static func design(_ index: Int) throws -> Design {
        let model = models[index]
        let formula = try Formula.parse(model.formula)
        let path = Fixtures.repositoryRoot.appendingPathComponent(model.data).path
        let table = try DataTable.read(path: path, categorical: Design.variables(of: formula).grouping)
        return try Design.build(data: table, formula: formula, family: try Family(model.family, link: model.link))
    }

    /// A point away from the optimum: stage 1's (θ, β) with θ moved by a tenth and β by 0.05.
    static func point(_ pirls: PIRLS) -> [Double] {
        let stageOne = GeneralizedMixedModelFit.firstStage(pirls)
        return stageOne.minimizer.map { $0 * 1.1 } + pirls.beta.map { $0 + 0.05 }
    }

    @Test(arguments: 0..<4)
    func gradientMatchesCentralDifferences(_ index: Int) throws {
        let design = try Self.design(index)
        #expect(LaplaceGradient.applies(to: design))
        let pirls = PIRLS(design: design)
        let x = Self.point(pirls)
        let gradient = LaplaceGradient(design: design, layout: pirls.randomProducts.layout, termStarts: pirls.randomProducts.termStarts)
        _ = GeneralizedMixedModelFit.deviance(pirls, at: x, quadrature: nil)
        let mode = pirls.u
        let analytic = gradient.gradient(of: pirls)
        let h = 1e-5
        for j in x.indices {
            var plus = x, minus = x
            plus[j] += h
            minus[j] -= h
            pirls.setU(mode)
            let up = GeneralizedMixedModelFit.deviance(pirls, at: plus, quadrature: nil)
            pirls.setU(mode)
            let down = GeneralizedMixedModelFit.deviance(pirls, at: minus, quadrature: nil)
            let difference = (up - down) / (2 * h)
            #expect(abs(analytic[j] - difference) <= 1e-6 * max(1, abs(difference)),
                    "model \(index) coordinate \(j): \(analytic[j]) vs \(difference)")
        }
    }

    /// Near the optimum the two Hessians agree to the four-point formula's rounding (the deviance's
    /// rounding over h² = 1e-8).
    @Test(arguments: 0..<4)
    func hessianMatchesFourPointDifferences(_ index: Int) throws {
        let design = try Self.design(index)
        let pirls = PIRLS(design: design)
        let stageOne = GeneralizedMixedModelFit.firstStage(pirls)
        let x = stageOne.minimizer + pirls.beta
        let gradient = LaplaceGradient(design: design, layout: pirls.randomProducts.layout, termStarts: pirls.randomProducts.termStarts)
        let value = GeneralizedMixedModelFit.deviance(pirls, at: x, quadrature: nil)
        let mode = pirls.u
        let fromGradients = GeneralizedMixedModelFit.hessianFromGradients(at: x, mode: mode, gradient: gradient, first: pirls)
        let unbounded = Array(repeating: -Double.infinity, count: x.count)
        let fourPoint = ConvergenceCheck.derivatives(evaluatingAll: {
            GeneralizedMixedModelFit.deviances(at: $0, from: mode, design: design, quadrature: nil, first: pirls)
        }, at: x, value: value, lowerBounds: unbounded).hessian
        let d = x.count
        for j in 0..<d {
            for i in 0..<d {
                let scale = (abs(fourPoint[i + i * d]) * abs(fourPoint[j + j * d])).squareRoot()
                #expect(abs(fromGradients[i + j * d] - fourPoint[i + j * d]) <= 1e-4 * scale,
                        "model \(index) H[\(i), \(j)]: \(fromGradients[i + j * d]) vs \(fourPoint[i + j * d])")
            }
        }
    }

    /// Where (77a) holds, Newton steps finish stage 2 (eq. 78a) and BOBYQA is not run: NLopt's
    /// generic success code, and far fewer evaluations than BOBYQA's (cbpp 62, grouseticks 189,
    /// VerbAgg 199 before).
    @Test(arguments: [0, 3])
    func newtonFinishesStageTwo(_ index: Int) throws {
        let fit = try GeneralizedMixedModelFit.fit(Self.design(index))
        #expect(fit.optimizerStatus == GeneralizedMixedModelFit.newtonStatus)
        #expect(fit.optimizerEvaluations < 40, "\(fit.optimizerEvaluations) evaluations")
        #expect(fit.convergence.gradient.allSatisfy { abs($0) < 1e-5 }, "gradient \(fit.convergence.gradient)")
    }
}
