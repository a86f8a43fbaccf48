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
        out += RSummary.scaledResiduals(scaledResiduals)
        line()
        line("Random effects:")
        out += RSummary.varianceComponents(varianceComponents, residual: sigma)
        out += RSummary.groupsLine(observationCount: observationCount, randomEffects: randomEffects)
        if rowsDropped > 0 { line("(\(rowsDropped) observation\(rowsDropped == 1 ? "" : "s") deleted due to missingness)") }
        line()
        line("Fixed effects:")
        out += RSummary.coefficients(fixedEffects.map(\.name), estimates: fixedEffects.map(\.estimate),
                                     standardErrors: fixedEffects.map(\.standardError))
        out += RSummary.fixedEffectsCorrelation(names: fixedEffects.map(\.name), covariance: fixedEffectsCovariance)
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
        func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        var varcorr: [[String: Any]] = []
        for component in varianceComponents {
            for (index, name) in component.names.enumerated() {
                varcorr.append(["group": component.group, "name": name, "sd": number(component.standardDeviations[index])])
            }
            for r in 0..<component.names.count { for c in 0..<r {
                varcorr.append(["group": component.group, "name": component.names[c], "name2": component.names[r], "corr": number(component.correlations[r][c])])
            } }
        }
        varcorr.append(["group": "Residual", "sd": number(sigma)])
        var ngroups: [String: Any] = [:]
        // Terms sharing a grouping factor (`(x || g)`) merge into one entry per level, as lme4's ranef does.
        var ranef: [String: [[String: Any]]] = [:]
        var conditionalSDs: [String: [[String: Any]]] = [:]
        for effects in randomEffects {
            ngroups[effects.group] = effects.levels.count
            func merge(_ values: [[Double]], into existing: [[String: Any]]?) -> [[String: Any]] {
                effects.levels.indices.map { h in
                    var entry = existing?[h] ?? ["level": effects.levels[h]]
                    for (c, name) in effects.coefficientNames.enumerated() { entry[name] = number(values[h][c]) }
                    return entry
                }
            }
            ranef[effects.group] = merge(effects.modes, into: ranef[effects.group])
            conditionalSDs[effects.group] = merge(effects.conditionalStandardDeviations, into: conditionalSDs[effects.group])
        }
        return [
            "method": method.rawValue,
            "objective": number(objective),
            "loglik": number(logLikelihood),
            "aic": number(aic),
            "bic": number(bic),
            "theta": theta.map(number),
            "theta_names": thetaNames,
            "sigma": number(sigma),
            "fixed": fixedEffects.map { ["name": $0.name, "estimate": number($0.estimate), "se": number($0.standardError)] as [String: Any] },
            "varcorr": varcorr,
            "nobs": observationCount,
            "rows_dropped": rowsDropped,
            "ngroups": ngroups,
            "ranef": ranef,
            "ranef_condsd": conditionalSDs,
            "singular": isSingular,
            "fixed_correlation": fixedEffectsCovariance.indices.map { r in fixedEffectsCovariance.indices.map { c in
                number(fixedEffectsCovariance[r][c] / (fixedEffectsCovariance[r][r] * fixedEffectsCovariance[c][c]).squareRoot())
            } },
            "converged": converged,
            "convergence_messages": convergence.messages,
            "optimizer_status": Int(optimizerStatus),
            "gradient": convergence.gradient.map(number),
            "optimizer_evaluations": optimizerEvaluations,
            "seconds": seconds,
        ]
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

func format(_ x: Double, decimals: Int) -> String {
    x.isFinite ? String(format: "%.\(decimals)f", x) : (x.isNaN ? "NaN" : (x > 0 ? "Inf" : "-Inf"))
}

/// `digits` significant digits, as R's print does for a column (at least `minimumDecimals`).
func significant(_ x: Double, _ digits: Int, minimumDecimals: Int = 0) -> String {
    guard x.isFinite, x != 0 else { return format(x, decimals: max(minimumDecimals, 0)) }
    let magnitude = Int(floor(log10(abs(x))))
    return format(x, decimals: max(minimumDecimals, digits - 1 - magnitude, 0))
}

func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

/// R's `abbreviate(name, 4)`-like short names for the correlation table.
func abbreviate(_ name: String) -> String {
    if name == "(Intercept)" { return "(Intr)" }
    return name.count <= 6 ? name : String(name.prefix(6))
}

func table(_ rows: [[String]], rightAligned: [Int]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
    var out = ""
    for row in rows {
        var cells: [String] = []
        for c in 0..<columns {
            let cell = c < row.count ? row[c] : ""
            let padding = String(repeating: " ", count: widths[c] - cell.count)
            cells.append(rightAligned.contains(c) ? padding + cell : cell + padding)
        }
        out += cells.joined(separator: " ") + "\n"
    }
    return out
}
