import Foundation
import CNumerics

extension GeneralizedMixedModelFit {
    /// lme4's title, wrapped as R's `strwrap` at width 80 with continuation lines indented by two.
    var titleLine: String {
        var lines: [String] = []
        var current = ""
        for word in titleText.split(separator: " ") {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if candidate.count >= 80, !current.isEmpty {
                lines.append(current)
                current = "  " + word
            } else {
                current = candidate
            }
        }
        lines.append(current)
        return lines.joined(separator: "\n")
    }

    private var titleText: String {
        switch method {
        case .laplace, .fastLaplace:
            return "Generalized linear mixed model fit by maximum likelihood (Laplace Approximation) [glmerMod]"
        case .adaptiveQuadrature(let nodes):
            return "Generalized linear mixed model fit by maximum likelihood (Adaptive Gauss-Hermite Quadrature, nAGQ = \(nodes)) [glmerMod]"
        case .penalizedQuasiLikelihood:
            return "Generalized linear mixed model fit by penalized quasi-likelihood (MASS::glmmPQL's algorithm)"
        }
    }

    /// Two-sided normal p-value of a z statistic.
    static func pValue(_ z: Double) -> Double { 2 * gsl_cdf_ugaussian_Q(abs(z)) }

    /// The fit laid out like lme4's `summary(glmer(...))`, from the same blocks as the linear
    /// fit's summary (RSummary), with z tests and their p-values.
    public func summaryText(formula: String, dataName: String) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        line(titleLine)
        line(" Family: \(family.kind.rawValue)  ( \(family.link.rawValue) )")
        line("Formula: \(formula)")
        line("   Data: \(dataName)")
        line()
        if deviance.isFinite {
            let values = RPrintFormat.format([aic, bic, logLikelihood, lme4Deviance].map { RPrintFormat.round($0, 1) }, digits: 7)
                + [String(observationCount - degreesOfFreedom)]
            out += RSummary.namedVector(names: ["AIC", "BIC", "logLik", "deviance", "df.resid"], values: values)
        } else {
            line("(PQL maximizes no likelihood: no logLik, AIC or BIC)")
        }
        line()
        // PQL's components are on the working model's scale (σ T) with σ the dispersion, as glmmPQL prints them.
        out += RSummary.residualsEffectsAndCoefficients(
            residuals: pearsonResiduals, components: varianceComponents, residual: dispersion, randomEffects: randomEffects,
            observationCount: observationCount, rowsDropped: rowsDropped, fixedEffects: fixedEffects,
            covariance: fixedEffectsCovariance, pValues: fixedEffects.map { Self.pValue($0.tValue) })
        // lme4's .prt.warn: the optimizer's code and lme4's messages, only when there is something to say.
        if optimizerStatus <= 0 || !convergence.messages.isEmpty {
            let code = optimizerStatus > 0 ? "0 (OK)" : "\(optimizerStatus) (NLopt stopped without converging after \(optimizerEvaluations) evaluations)"
            line("optimizer (nloptwrap) convergence code: \(code)")
            convergence.messages.forEach { line($0) }
        }
        if case .adaptiveQuadrature(let nodes) = method, nodes > 1 {
            line("note: the deviance above leaves out the saturated model's constant, as lme4 prints it for nAGQ > 1; -2 log L = \(String(format: "%.4f", deviance))")
        }
        return out
    }

    /// One JSON object: the Gaussian fit's keys where they apply, plus family, link, method,
    /// nagq, deviance (−2 log L with the family's constants), z and p per fixed effect.
    public func jsonObject() -> [String: Any] {
        let number = FitJSON.number
        return FitJSON.randomEffectsKeys(varianceComponents, randomEffects, residual: dispersion).merging([
            "family": family.kind.rawValue,
            "link": family.link.rawValue,
            "method": method.name,
            "nagq": method.quadratureNodes.map { $0 as Any } ?? NSNull(),
            "deviance": number(deviance),
            "deviance_lme4": number(lme4Deviance),
            "deviance_saturated": number(saturatedDeviance),
            "loglik": number(logLikelihood),
            "aic": number(aic),
            "bic": number(bic),
            "theta": theta.map(number),
            "theta_names": thetaNames,
            "dispersion": dispersion.map(number) ?? NSNull(),
            "fixed": zip(fixedEffects, fixedEffectsStandardErrorsRX).map { effect, rx in
                ["name": effect.name, "estimate": number(effect.estimate), "se": number(effect.standardError), "se_rx": number(rx),
                 "z": number(effect.tValue), "p": number(Self.pValue(effect.tValue))] as [String: Any]
            },
            "nobs": observationCount,
            "rows_dropped": rowsDropped,
            "singular": isSingular,
            "converged": converged,
            "convergence_messages": convergence.messages,
            "gradient": convergence.gradient.map(number),
            "fixed_correlation": FitJSON.correlations(fixedEffectsCovariance),
            "optimizer_evaluations": optimizerEvaluations,
            "optimizer_status": Int(optimizerStatus),
            "iterations": iterations,
            "seconds": seconds,
        ]) { first, _ in first }
    }
}
