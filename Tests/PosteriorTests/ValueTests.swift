import Foundation
import ModelSpec
import Testing
import TestSupport

/// Log-posterior values against computations from the data rows that share nothing with the
/// blocked code: a dense n x n multivariate normal for the collapsed forms, residuals row by row
/// for the full form, and the prior densities written out in closed form.
@Suite struct ValueTests {
    static let denseModels: [TestModel] = [.sleepstudyCorrelated, .sleepstudyUncorrelated, .dyestuff, .crossedVector]

    /// log N(y; Xβ, ZΣZᵀ + σ²I) through the blocked factor (eq. 45) and densely.
    @Test(arguments: denseModels)
    func collapsedLikelihoodMatchesDenseNormal(model: TestModel) throws {
        let design = try model.design()
        var target = try CollapsedLogPosterior(design: design, priors: model.priors(for: design))
        var random = TestRandom(seed: 11)
        let y = zip(design.response, design.offset).map { $0 - $1 }
        for _ in 0..<3 {
            let x = randomPoint(target.layout, design: design, random: &random)
            let parameters = target.layout.constrain(x)
            let blocked = target.components(at: x).logLikelihood
            let mean = (0..<design.observationCount).map { i in
                (0..<design.fixedCount).reduce(0.0) { $0 + design.fixed.matrix[i, $1] * parameters.beta[$1] }
            }
            let dense = denseLogNormal(y, mean: mean, covariance: denseMarginalCovariance(design, parameters: parameters))
            #expect(relativeError(blocked, dense) < 1e-9, "blocked \(blocked), dense \(dense)")
            print("collapsed \(model): blocked \(blocked), dense \(dense), relative error \(relativeError(blocked, dense))")
            #expect(target.logLikelihood(parameters).map { relativeError($0, dense) < 1e-9 } == true)
        }
    }

    /// With β ~ N(m, diag(s²)) integrated out too: log N(y; Xm, ZΣZᵀ + σ²I + X diag(s²) Xᵀ).
    @Test(arguments: denseModels)
    func marginalLikelihoodMatchesDenseNormal(model: TestModel) throws {
        let design = try model.design()
        var priors = model.priors(for: design)
        let beta = leastSquaresBeta(design)
        // Priors near the data, so that X diag(s²) Xᵀ does not swamp the dense covariance's
        // conditioning (the blocked computation does not care).
        priors.fixed = beta.map { NormalPrior(mean: 0.9 * $0 + 1, sd: 0.2 * abs($0) + 1) }
        var target = try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: true)
        var random = TestRandom(seed: 12)
        let y = zip(design.response, design.offset).map { $0 - $1 }
        let mean = (0..<design.observationCount).map { i in
            (0..<design.fixedCount).reduce(0.0) { $0 + design.fixed.matrix[i, $1] * priors.fixed[$1].mean }
        }
        for _ in 0..<3 {
            let x = randomPoint(target.layout, design: design, random: &random)
            let parameters = target.layout.constrain(x)
            let blocked = target.components(at: x).logLikelihood
            let covariance = denseMarginalCovariance(design, parameters: parameters, fixedVariances: priors.fixed.map { $0.sd * $0.sd })
            let dense = denseLogNormal(y, mean: mean, covariance: covariance)
            #expect(relativeError(blocked, dense) < 1e-9, "blocked \(blocked), dense \(dense)")
            print("marginal \(model): blocked \(blocked), dense \(dense), relative error \(relativeError(blocked, dense))")
        }
    }

    /// log N(y | Xβ + Zb, σ²I) row by row, with b = diag(τ) W z.
    @Test(arguments: TestModel.allCases)
    func fullLikelihoodMatchesDataRows(model: TestModel) throws {
        let design = try model.design()
        var target = try FullLogPosterior(design: design, priors: model.priors(for: design))
        var random = TestRandom(seed: 13)
        for _ in 0..<3 {
            let x = randomPoint(target.layout, design: design, random: &random)
            let parameters = target.layout.constrain(x)
            let fitted = directLinearPredictor(design, parameters)
            var direct = 0.0
            for i in 0..<design.observationCount {
                let r = (design.response[i] - fitted[i]) / parameters.sigma!
                direct += -0.5 * log(2 * Double.pi) - log(parameters.sigma!) - 0.5 * r * r
            }
            let blocked = target.components(at: x).logLikelihood
            #expect(relativeError(blocked, direct) < 1e-10, "blocked \(blocked), direct \(direct)")
        }
    }

    /// The whole full-form value on Dyestuff (scalar term) and sleepstudy (Days|Subject), priors
    /// and Jacobians written out: half-Cauchy 2/(π s (1 + (x/s)²)) with Jacobian x for log x;
    /// for a 2 x 2 correlation ρ = tanh(y) under LKJ(η): (1 − ρ²)^(η−1) / (2^(2η−1) B(η, η))
    /// with Jacobian 1 − ρ².
    @Test(arguments: [TestModel.dyestuff, .sleepstudyCorrelated, .crossed])
    func fullValueMatchesClosedForms(model: TestModel) throws {
        let design = try model.design()
        let priors = model.priors(for: design)
        var target = try FullLogPosterior(design: design, priors: priors)
        var random = TestRandom(seed: 14)
        let x = randomPoint(target.layout, design: design, random: &random)
        let parameters = target.layout.constrain(x)
        let components = target.components(at: x)
        func halfCauchyOnLog(_ v: Double, _ s: Double) -> Double {
            let ratio: Double = v / s
            let density: Double = 2 / (Double.pi * s * (1 + ratio * ratio))
            return log(density) + log(v)
        }
        var expected = components.logLikelihood   // checked on its own above
        for (c, prior) in priors.fixed.enumerated() {
            let z = (parameters.beta[c] - prior.mean) / prior.sd
            expected += -0.5 * log(2 * Double.pi * prior.sd * prior.sd) - 0.5 * z * z
        }
        expected += halfCauchyOnLog(parameters.sigma!, priors.sigmaScale)
        for (j, term) in design.terms.enumerated() {
            for c in 0..<term.size { expected += halfCauchyOnLog(parameters.tau[j][c], priors.tauScales[j][c]) }
            if term.size == 2 {
                let rho: Double = tanh(x[target.layout.correlationRanges[j].lowerBound])
                let eta: Double = priors.lkjEta[j]
                let logBeta: Double = 2 * lgamma(eta) - lgamma(2 * eta)
                let logC2: Double = (2 * eta - 1) * log(2.0) + logBeta
                let logOneMinus: Double = log(1 - rho * rho)
                expected += (eta - 1) * logOneMinus - logC2 + logOneMinus
            }
            for z in parameters.standardizedEffects[j] { expected += -0.5 * log(2 * Double.pi) - 0.5 * z * z }
        }
        #expect(relativeError(components.total, expected) < 1e-12, "value \(components.total), closed form \(expected)")
        var copy = target
        #expect(copy.valueAndGradient(x).value == components.total)
    }

    /// Collapsed and full forms describe one posterior: for fixed (β, σ, Σ), the full form's
    /// log p(y | β, b) + log N(b | 0, G) integrated over b is the collapsed likelihood. Checked by
    /// the Gaussian identity at b = the conditional mode b̂:
    /// log p(y | β, σ, Σ) = log p(y | β, b̂) + log N(b̂ | 0, G) − log N(b̂ | b̂, Cov(b | y)).
    @Test(arguments: [TestModel.sleepstudyCorrelated, .crossedVector])
    func collapsedEqualsFullIntegrated(model: TestModel) throws {
        let design = try model.design()
        let priors = model.priors(for: design)
        var collapsed = try CollapsedLogPosterior(design: design, priors: priors)
        var full = try FullLogPosterior(design: design, priors: priors)
        var random = TestRandom(seed: 15)
        let x = randomPoint(collapsed.layout, design: design, random: &random)
        var parameters = collapsed.layout.constrain(x)
        let logLikelihood = collapsed.components(at: x).logLikelihood
        let zero = [Double](repeating: 0, count: collapsed.drawNoiseCount)
        let drawn = collapsed.drawIntegratedEffects(at: x, noise: zero)
        let mode = try #require(drawn)
        // z = L_j⁻¹ b̂ per level.
        parameters.standardizedEffects = design.terms.indices.map { j in
            let k = design.terms[j].size
            let l = parameters.covarianceFactor(term: j)
            var z = mode.randomEffects[j]
            for h in 0..<(z.count / k) {
                for r in 0..<k {
                    var s = z[h * k + r]
                    for c in 0..<r { s -= l[r + c * k] * z[h * k + c] }
                    z[h * k + r] = s / l[r + r * k]
                }
            }
            return z
        }
        let xFull = full.layout.unconstrain(parameters)
        let fullLikelihood = full.components(at: xFull).logLikelihood
        // log N(b̂ | 0, G) = Σ log N(z | 0, I) − Σ_j ℓ_j log|L_j|.
        var logPriorB = 0.0
        for j in design.terms.indices {
            let k = design.terms[j].size
            let l = parameters.covarianceFactor(term: j)
            for z in parameters.standardizedEffects[j] { logPriorB += -0.5 * log(2 * Double.pi) - 0.5 * z * z }
            for r in 0..<k { logPriorB -= Double(design.terms[j].levelCount) * log(l[r + r * k]) }
        }
        // log N(b̂ | b̂, C) = −q/2 log 2π − ½ log|C|, C = σ² Λ M⁻¹ Λᵀ: log|C| = q log σ² + 2 log|Λ| − log|M|.
        let q = Double(collapsed.drawNoiseCount)
        var logDetLambda = 0.0
        for j in design.terms.indices {
            let k = design.terms[j].size
            let l = parameters.covarianceFactor(term: j)
            for r in 0..<k { logDetLambda += Double(design.terms[j].levelCount) * log(l[r + r * k] / parameters.sigma!) }
        }
        let logDetM = 2 * collapsed.factor.firstLogDiagonalSum() + 2 * collapsed.factor.denseLogDiagonalSum(0 ..< (collapsed.factor.layout.denseDimension - design.fixedCount - 1))
        let logDetC = q * log(parameters.sigma! * parameters.sigma!) + 2 * logDetLambda - logDetM
        let logPosteriorAtMode = -0.5 * q * log(2 * Double.pi) - 0.5 * logDetC
        let identity = fullLikelihood + logPriorB - logPosteriorAtMode
        print("identity \(model): \(identity) vs \(logLikelihood)")
        #expect(relativeError(identity, logLikelihood) < 1e-9, "full-form identity \(identity), collapsed \(logLikelihood)")
    }
}
