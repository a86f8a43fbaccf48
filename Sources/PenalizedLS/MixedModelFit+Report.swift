import Foundation

extension MixedModelFit {
    /// The fit laid out like lme4's `summary(lmer(...))`.
    public func summaryText(formula: String, dataName: String) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        line(method == .reml ? "Linear mixed model fit by REML ['lmerMod']" : "Linear mixed model fit by maximum likelihood  ['lmerMod']")
        line("Formula: \(formula)")
        line("   Data: \(dataName)")
        line()
        if method == .reml {
            line("REML criterion at convergence: \(format(objective, decimals: 1))")
        } else {
            let header = ["AIC", "BIC", "logLik", "deviance", "df.resid"]
            let values = [format(aic, decimals: 1), format(bic, decimals: 1), format(logLikelihood, decimals: 1),
                          format(objective, decimals: 1), String(observationCount - degreesOfFreedom)]
            let width = max(8, values.map(\.count).max() ?? 8)
            line(header.map { pad($0, width) }.joined(separator: " "))
            line(values.map { pad($0, width) }.joined(separator: " "))
        }
        line()
        line("Scaled residuals: ")
        let sorted = scaledResiduals.sorted()
        let quantiles = [0, 0.25, 0.5, 0.75, 1].map { typeSevenQuantile(sorted, $0) }
        line(["Min", "1Q", "Median", "3Q", "Max"].map { pad($0, 8) }.joined(separator: " ") + " ")
        line(quantiles.map { pad(format($0, decimals: 4), 8) }.joined(separator: " ") + " ")
        line()

        line("Random effects:")
        var rows: [[String]] = [[" Groups", "Name", "Variance", "Std.Dev.", "Corr"]]
        for component in varianceComponents {
            for (index, name) in component.names.enumerated() {
                let sd = component.standardDeviations[index]
                let correlations = (0..<index).map { format(component.correlations[index][$0], decimals: 2) }.joined(separator: " ")
                rows.append([index == 0 ? " " + component.group : "", name, significant(sd * sd, 4), significant(sd, 4), correlations])
            }
        }
        rows.append([" Residual", "", significant(sigma * sigma, 4), significant(sigma, 4), ""])
        out += table(rows, rightAligned: [2, 3])
        let groups = randomEffects.map { "\($0.group), \($0.levels.count)" }.joined(separator: "; ")
        line("Number of obs: \(observationCount), groups:  \(groups)")
        if rowsDropped > 0 { line("(\(rowsDropped) observation\(rowsDropped == 1 ? "" : "s") deleted due to missingness)") }
        line()

        line("Fixed effects:")
        var fixedRows: [[String]] = [["", "Estimate", "Std. Error", "t value"]]
        for effect in fixedEffects {
            fixedRows.append([effect.name, significant(effect.estimate, 4, minimumDecimals: 3), significant(effect.standardError, 4, minimumDecimals: 3), format(effect.tValue, decimals: 3)])
        }
        out += table(fixedRows, rightAligned: [1, 2, 3])
        if fixedEffects.count > 1 {
            line()
            line("Correlation of Fixed Effects:")
            let abbreviations = fixedEffects.map { abbreviate($0.name) }
            var correlationRows: [[String]] = [[""] + abbreviations.dropLast()]
            for r in 1..<fixedEffects.count {
                var row = [abbreviations[r]]
                for c in 0..<(fixedEffects.count - 1) {
                    row.append(c < r ? format(fixedEffectsCovariance[r][c] / (fixedEffectsCovariance[r][r] * fixedEffectsCovariance[c][c]).squareRoot(), decimals: 3) : "")
                }
                correlationRows.append(row)
            }
            out += table(correlationRows, rightAligned: Array(1..<fixedEffects.count))
        }
        if isSingular { line("optimizer (bobyqa) convergence code: 0 (OK)\nboundary (singular) fit: see help('isSingular')") }
        if !converged { line("warning: the optimizer stopped before converging (\(optimizerEvaluations) evaluations)") }
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
            "converged": converged,
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
