import Foundation
import CNumerics
import Linalg
import ModelSpec

/// Penalized quasi-likelihood as MASS::glmmPQL computes it (docs/math.md, eq. 81): from a GLM fit
/// without random effects, alternate (1) the working response z = η − offset + (y − μ)/(dμ/dη)
/// and working weights w = a (dμ/dη)²/V(μ) at the current η, and (2) the weighted linear mixed
/// model z ~ X β + Z b with residual variances σ²/w, fitted by ML (glmmPQL calls `lme(...,
/// method = "ML")`), until Σ(η − η_old)² < 10⁻⁶ Σ η², at most 10 times (glmmPQL's `niter`).
enum PenalizedQuasiLikelihood {
    static let maximumIterations = 10
    static let tolerance = 1e-6

    static func fit(_ design: Design, started: ContinuousClock.Instant) throws -> GeneralizedMixedModelFit {
        let family = design.family
        let n = design.observationCount
        let prior = design.priorWeights ?? Array(repeating: 1, count: n)
        let y = design.response
        var eta = try generalizedLinearModelPredictor(design)
        var linear: MixedModelFit?
        var workingDesign = design
        var iterations = 0
        var evaluations = 0
        var status: Int32 = 1
        for _ in 0..<maximumIterations {
            iterations += 1
            var working = [Double](repeating: 0, count: n)
            var weights = [Double](repeating: 0, count: n)
            for i in 0..<n {
                let mu = family.mean(eta[i]), derivative = family.meanDerivative(eta[i])
                working[i] = eta[i] + (y[i] - mu) / derivative - design.offset[i]
                weights[i] = prior[i] * derivative * derivative / family.variance(mu)
            }
            workingDesign = design.workingLinearModel(response: working, weights: weights)
            let fit = try MixedModelFit.fit(workingDesign, method: .ml)
            linear = fit
            evaluations += fit.optimizerEvaluations
            status = fit.converged ? status : -1
            let previous = eta
            eta = fitted(fit, design: design)
            var change = 0.0, size = 0.0
            for i in 0..<n { change += (eta[i] - previous[i]) * (eta[i] - previous[i]); size += eta[i] * eta[i] }
            if change < tolerance * size { break }
        }
        guard let linear else { preconditionFailure("at least one PQL iteration runs") }
        let sigma = linear.sigma
        // glmmPQL reports the random effects' SDs as lme does (σ T, on the linear predictor's
        // scale) and σ as the dispersion; θ here is the relative factor of the working model.
        var pearson = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let mu = family.mean(eta[i])
            pearson[i] = (y[i] - mu) * prior[i].squareRoot() / family.variance(mu).squareRoot()
        }
        // summary(glmmPQL) prints nlme's ML SEs scaled by √(N/(N − p)) (summary.lme's
        // adjustSigma); the unscaled ones (lme4's ML SEs of the working model) are the "RX" ones.
        let p = design.fixedCount
        let adjustment = Double(n) / Double(n - p)
        let fixedEffects = linear.fixedEffects.map {
            MixedModelFit.FixedEffect(name: $0.name, estimate: $0.estimate, standardError: $0.standardError * adjustment.squareRoot())
        }
        let elapsed = ContinuousClock.now - started
        return GeneralizedMixedModelFit(
            family: family, method: .penalizedQuasiLikelihood, deviance: .nan,
            saturatedDeviance: .nan, theta: linear.theta, thetaNames: linear.thetaNames, fixedEffects: fixedEffects,
            fixedEffectsStandardErrorsRX: linear.fixedEffects.map(\.standardError),
            fixedEffectsCovariance: linear.fixedEffectsCovariance.map { $0.map { $0 * adjustment } }, varianceComponents: linear.varianceComponents,
            randomEffects: linear.randomEffects, dispersion: sigma, pearsonResiduals: pearson,
            observationCount: n, rowsDropped: design.rowsDropped, optimizerEvaluations: evaluations, optimizerStatus: status,
            iterations: iterations, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
            lowerBounds: design.thetaLowerBounds,
            convergence: ConvergenceCheck(derivatives: nil, parameters: linear.theta, lowerBounds: design.thetaLowerBounds))
    }

    /// η = offset + Xβ̂ + Zb̂ of a working-model fit.
    static func fitted(_ fit: MixedModelFit, design: Design) -> [Double] {
        var eta = design.offset
        let x = design.fixed.matrix
        for (c, effect) in fit.fixedEffects.enumerated() {
            for i in eta.indices { eta[i] += x[i, c] * effect.estimate }
        }
        for (j, term) in design.terms.enumerated() {
            let modes = fit.randomEffects[j].modes
            for i in eta.indices {
                let b = modes[Int(term.groupCodes[i])]
                for c in 0..<term.size { eta[i] += term.modelRows[i, c] * b[c] }
            }
        }
        return eta
    }

    /// The linear predictor of the GLM without random effects (R's `glm.fit`: IRLS from its
    /// starting means until the deviance changes by less than 10⁻⁸ of itself), glmmPQL's start.
    static func generalizedLinearModelPredictor(_ design: Design) throws -> [Double] {
        let family = design.family
        let n = design.observationCount, p = design.fixedCount
        let prior = design.priorWeights ?? Array(repeating: 1, count: n)
        let y = design.response
        let x = design.fixed.matrix
        var eta = (0..<n).map { i -> Double in
            let start: Double
            switch family.kind {
            case .binomial: start = (prior[i] * y[i] + 0.5) / (prior[i] + 1)
            case .poisson: start = y[i] + 0.1
            case .gaussian: start = y[i]
            }
            return family.linkFunction(start)
        }
        var deviance = Double.infinity
        for _ in 0..<100 {
            // Weighted normal equations XᵀWX β = XᵀWz.
            var gram = [Double](repeating: 0, count: p * p)
            var right = [Double](repeating: 0, count: p)
            for i in 0..<n {
                let mu = family.mean(eta[i]), derivative = family.meanDerivative(eta[i])
                let w = prior[i] * derivative * derivative / family.variance(mu)
                let z = eta[i] - design.offset[i] + (y[i] - mu) / derivative
                for c in 0..<p {
                    let wx = w * x[i, c]
                    right[c] += wx * z
                    for r in c..<p { gram[r + c * p] += wx * x[i, r] }
                }
            }
            let info = gram.withUnsafeMutableBufferPointer { g in
                right.withUnsafeMutableBufferPointer { b in
                    LAPACKE_dposv(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(p), 1, g.baseAddress!, Int32(p), b.baseAddress!, Int32(p))
                }
            }
            guard info == 0 else { throw FitError.rankDeficientFixedEffects(names: design.fixed.columnNames) }
            eta = PIRLS.offsetPlusXBeta(design: design, beta: right)
            var newDeviance = 0.0
            for i in 0..<n { newDeviance += family.devianceResidual(y: y[i], mu: family.mean(eta[i]), weight: prior[i]) }
            if abs(newDeviance - deviance) / (abs(newDeviance) + 0.1) < 1e-8 { break }
            deviance = newDeviance
        }
        return eta
    }
}
