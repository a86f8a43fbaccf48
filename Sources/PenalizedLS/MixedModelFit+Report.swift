import Foundation

extension MixedModelFit {
    /// The fit laid out like lme4's `summary(lmer(...))` (lme4 1.1-31's `print.summary.merMod`
    /// with its default `digits = 4`): numbers formatted per column as R's `format()` does,
    /// `Corr` only with correlated terms, the correlation of fixed effects with R's
    /// `abbreviate()`d labels and left out above 12 fixed effects, lme4's messages at the end.
    public func summaryText(formula: String, dataName: String) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        line(method == .reml ? "Linear mixed model fit by REML ['lmerMod']" : "Linear mixed model fit by maximum likelihood  ['lmerMod']")
        line("Formula: \(formula)")
        line("   Data: \(dataName)")
        line()
        if method == .reml {
            // round(x, 1) as cat() prints it: up to 7 significant digits.
            line("REML criterion at convergence: \(String(format: "%.7g", RPrintFormat.round(objective, 1)))")
        } else {
            let values = RPrintFormat.format([aic, bic, logLikelihood, objective].map { RPrintFormat.round($0, 1) }, digits: 7)
                + [String(observationCount - degreesOfFreedom)]
            out += RSummary.namedVector(names: ["AIC", "BIC", "logLik", "deviance", "df.resid"], values: values)
        }
        line()
        out += RSummary.residualsEffectsAndCoefficients(
            residuals: scaledResiduals, components: varianceComponents, residual: sigma, randomEffects: randomEffects,
            observationCount: observationCount, rowsDropped: rowsDropped, fixedEffects: fixedEffects,
            covariance: fixedEffectsCovariance, pValues: nil)
        // lme4's .prt.warn: the optimizer's code, then lme4's messages, only when there is something to say.
        if optimizerStatus <= 0 || !convergence.messages.isEmpty {
            let code = optimizerStatus > 0 ? "0 (OK)" : "\(optimizerStatus) (NLopt stopped without converging after \(optimizerEvaluations) evaluations)"
            line("optimizer (nloptwrap) convergence code: \(code)")
            convergence.messages.forEach { line($0) }
        }
        return out
    }

    /// One JSON object with the keys lme4 users expect (see `mixmc fit --help`).
    public func jsonObject() -> [String: Any] {
        let number = FitJSON.number
        return FitJSON.randomEffectsKeys(varianceComponents, randomEffects, residual: sigma).merging([
            "method": method.rawValue,
            "objective": number(objective),
            "loglik": number(logLikelihood),
            "aic": number(aic),
            "bic": number(bic),
            "theta": theta.map(number),
            "theta_names": thetaNames,
            "sigma": number(sigma),
            "fixed": fixedEffects.map { ["name": $0.name, "estimate": number($0.estimate), "se": number($0.standardError)] as [String: Any] },
            "nobs": observationCount,
            "rows_dropped": rowsDropped,
            "singular": isSingular,
            "fixed_correlation": FitJSON.correlations(fixedEffectsCovariance),
            "converged": converged,
            "convergence_messages": convergence.messages,
            "optimizer_status": Int(optimizerStatus),
            "gradient": convergence.gradient.map(number),
            "optimizer_evaluations": optimizerEvaluations,
            "seconds": seconds,
        ]) { first, _ in first }
    }
}

/// R's default (type 7) quantile of sorted values.
func typeSevenQuantile(_ sorted: [Double], _ probability: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let h = Double(sorted.count - 1) * probability
    let low = Int(h.rounded(.down))
    let high = min(low + 1, sorted.count - 1)
    return sorted[low] + (h - Double(low)) * (sorted[high] - sorted[low])
}
