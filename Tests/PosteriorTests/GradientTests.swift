import Foundation
import ModelSpec
import Testing
import TestSupport

/// Analytic gradients against central finite differences (Richardson-extrapolated, step per
/// coordinate), at several random points, for every form on every test model.
@Suite struct GradientTests {
    static let cases: [(TestModel, PosteriorForm)] = TestModel.allCases.flatMap { model in
        PosteriorForm.allCases.map { (model, $0) }
    }

    @Test(arguments: cases)
    func gradientMatchesFiniteDifferences(model: TestModel, form: PosteriorForm) throws {
        let design = try model.design()
        let priors = model.priors(for: design)
        var random = TestRandom(seed: UInt64(model.rawValue.count * 31 + form.rawValue.count))
        var worst = 0.0
        for _ in 0..<3 {
            switch form {
            case .full:
                var target = try FullLogPosterior(design: design, priors: priors)
                let x = randomPoint(target.layout, design: design, random: &random)
                worst = max(worst, try Self.check(&target, at: x, names: target.layout.names))
            case .collapsed, .marginal:
                var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: form == .marginal)
                let x = randomPoint(target.layout, design: design, random: &random)
                worst = max(worst, try Self.check(&target, at: x, names: target.layout.names))
            }
        }
        print("gradient \(model) \(form): worst relative error \(worst)")
    }

    /// A flat prior on β (SD +∞) under `.marginal`: β's integral without a prior.
    @Test func marginalWithFlatFixedPrior() throws {
        let design = try TestModel.sleepstudyCorrelated.design()
        var priors = TestModel.sleepstudyCorrelated.priors(for: design)
        priors.fixed[1].sd = .infinity
        var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: true)
        var random = TestRandom(seed: 7)
        let x = randomPoint(target.layout, design: design, random: &random)
        _ = try Self.check(&target, at: x, names: target.layout.names)
    }

    /// The collapsed and marginal gradients on an InstEval-shaped design (students first, a dense
    /// block of several panels, three terms), with a scalar and a vector first term.
    @Test(arguments: ["y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)",
                      "y ~ 1 + service + (1 + service | s) + (1 | d)"], [false, true])
    func instEvalShapedGradient(formula: String, integrateFixedEffects: Bool) throws {
        let design = try instEvalSubsetDesign(formula)
        #expect(design.terms[0].groupingName == "s" && design.crossProducts.layout.denseDimension > 128)
        let priors = PriorSet.defaults(for: design)
        var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: integrateFixedEffects)
        var random = TestRandom(seed: 11)
        for _ in 0..<2 {
            let x = randomPoint(target.layout, design: design, random: &random)
            _ = try Self.check(&target, at: x, names: target.layout.names)
        }
    }

    static func check<T: PosteriorEvaluating>(_ target: inout T, at x: [Double], names: [String]) throws -> Double {
        let (value, analytic) = target.valueAndGradient(x)
        #expect(value.isFinite)
        var copy = target
        let numeric = finiteDifferenceGradient({ copy.valueAndGradient($0).value }, at: x)
        let errors = gradientErrors(analytic, numeric)
        for (i, error) in errors.enumerated() {
            #expect(error < 1e-6, "\(names[i]): analytic \(analytic[i]), finite differences \(numeric[i]), error \(error)")
        }
        return errors.max() ?? 0
    }
}

/// What the gradient checks call on either form.
protocol PosteriorEvaluating {
    mutating func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>) -> Double
}

extension PosteriorEvaluating {
    mutating func valueAndGradient(_ x: [Double]) -> (value: Double, gradient: [Double]) {
        var gradient = [Double](repeating: 0, count: x.count)
        let value = x.withUnsafeBufferPointer { p in gradient.withUnsafeMutableBufferPointer { logDensityAndGradient(p, gradient: $0) } }
        return (value, gradient)
    }
}

extension FullLogPosterior: PosteriorEvaluating {}
extension CollapsedLogPosterior: PosteriorEvaluating {}
