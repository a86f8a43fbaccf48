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

/// R's default (type 7) quantiles of `values` at each probability. The order statistics they need
/// are found by selection, not by sorting: the same values as a sort's, at a fraction of its cost
/// on the residuals of a ten-million-row fit.
func typeSevenQuantiles(_ values: [Double], at probabilities: [Double]) -> [Double] {
    guard !values.isEmpty else { return probabilities.map { _ in .nan } }
    let last = values.count - 1
    let positions = probabilities.map { probability -> (h: Double, low: Int, high: Int) in
        let h = Double(last) * probability
        let low = Int(h.rounded(.down))
        return (h, low, min(low + 1, last))
    }
    var ordered = values
    var statistics: [Int: Double] = [:]
    ordered.withUnsafeMutableBufferPointer { buffer in
        var from = 0
        for rank in Set(positions.flatMap { [$0.low, $0.high] }).sorted() {
            statistics[rank] = selectOrderStatistic(buffer, rank: rank, from: from)
            from = rank
        }
    }
    return positions.map { statistics[$0.low]! + ($0.h - Double($0.low)) * (statistics[$0.high]! - statistics[$0.low]!) }
}

/// The `rank`-th smallest value (0-based) of `values[from...]`, when every value before `from` is
/// at most every value from it on; leaves the smaller values before `rank` and the larger after
/// it (Hoare's FIND, with a median-of-three pivot).
private func selectOrderStatistic(_ values: UnsafeMutableBufferPointer<Double>, rank: Int, from: Int) -> Double {
    var low = from, high = values.count - 1
    while low < high {
        let middle = low + (high - low) / 2
        let pivot = max(min(values[low], values[middle]), min(max(values[low], values[middle]), values[high]))
        var i = low, j = high
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j {
                values.swapAt(i, j)
                i += 1
                j -= 1
            }
        }
        if rank <= j { high = j } else if rank >= i { low = i } else { break }
    }
    return values[rank]
}
