import Foundation
import CNumerics

extension GeneralizedMixedModelFit {
    /// lme4's first line for the method.
    var titleLine: String {
        switch method {
        case .laplace, .fastLaplace:
            return "Generalized linear mixed model fit by maximum likelihood (Laplace Approximation) ['glmerMod']"
        case .adaptiveQuadrature(let nodes):
            return "Generalized linear mixed model fit by maximum likelihood (Adaptive Gauss-Hermite Quadrature, nAGQ = \(nodes)) ['glmerMod']"
        case .penalizedQuasiLikelihood:
            return "Generalized linear mixed model fit by penalized quasi-likelihood (MASS::glmmPQL's algorithm)"
        }
    }

    /// Two-sided normal p-value of a z statistic.
    static func pValue(_ z: Double) -> Double { 2 * gsl_cdf_ugaussian_Q(abs(z)) }

    /// The fit laid out like lme4's `summary(glmer(...))`.
    public func summaryText(formula: String, dataName: String) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        line(titleLine)
        line(" Family: \(family.kind.rawValue)  ( \(family.link.rawValue) )")
        line("Formula: \(formula)")
        line("   Data: \(dataName)")
        line()
        if deviance.isFinite {
            let header = ["AIC", "BIC", "logLik", "deviance", "df.resid"]
            let values = [format(aic, decimals: 1), format(bic, decimals: 1), format(logLikelihood, decimals: 1),
                          format(lme4Deviance, decimals: 1), String(observationCount - degreesOfFreedom)]
            let width = max(8, values.map(\.count).max() ?? 8)
            line(header.map { pad($0, width) }.joined(separator: " "))
            line(values.map { pad($0, width) }.joined(separator: " "))
            if case .adaptiveQuadrature(let nodes) = method, nodes > 1 {
                line("(deviance without the saturated model's constant, as lme4 prints it for nAGQ > 1; -2 log L = \(format(deviance, decimals: 4)))")
            }
        } else {
            line("(PQL maximizes no likelihood: no logLik, AIC or BIC; dispersion \(significant(dispersion ?? .nan, 4)))")
        }
        line()
        line("Scaled residuals: ")
        let sorted = pearsonResiduals.sorted()
        let quantiles = [0, 0.25, 0.5, 0.75, 1].map { typeSevenQuantile(sorted, $0) }
        line(["Min", "1Q", "Median", "3Q", "Max"].map { pad($0, 8) }.joined(separator: " ") + " ")
        line(quantiles.map { pad(format($0, decimals: 4), 8) }.joined(separator: " ") + " ")
        line()

        line("Random effects:")
        let correlated = varianceComponents.contains { $0.names.count > 1 }
        var rows: [[String]] = [[" Groups", "Name", "Variance", "Std.Dev."] + (correlated ? ["Corr"] : [])]
        // PQL's components are on the working model's scale: σ T, as glmmPQL prints them.
        for component in varianceComponents {
            for (index, name) in component.names.enumerated() {
                let sd = component.standardDeviations[index]
                let correlations = (0..<index).map { format(component.correlations[index][$0], decimals: 2) }.joined(separator: " ")
                rows.append([index == 0 ? " " + component.group : "", name, significant(sd * sd, 4), significant(sd, 4)] + (correlated ? [correlations] : []))
            }
        }
        if let dispersion { rows.append([" Residual", "", significant(dispersion * dispersion, 4), significant(dispersion, 4)] + (correlated ? [""] : [])) }
        out += table(rows, rightAligned: [2, 3])
        let groups = randomEffects.map { "\($0.group), \($0.levels.count)" }.joined(separator: "; ")
        line("Number of obs: \(observationCount), groups:  \(groups)")
        if rowsDropped > 0 { line("(\(rowsDropped) observation\(rowsDropped == 1 ? "" : "s") deleted due to missingness)") }
        line()

        line("Fixed effects:")
        var fixedRows: [[String]] = [["", "Estimate", "Std. Error", "z value", "Pr(>|z|)", ""]]
        for effect in fixedEffects {
            let z = effect.tValue
            let p = Self.pValue(z)
            fixedRows.append([effect.name, significant(effect.estimate, 4, minimumDecimals: 3), significant(effect.standardError, 4, minimumDecimals: 3),
                              format(z, decimals: 3), Self.formatPValue(p), Self.significanceStars(p)])
        }
        out += table(fixedRows, rightAligned: [1, 2, 3, 4])
        line("---")
        line("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
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
        if isSingular { line("boundary (singular) fit: see help('isSingular')") }
        if !converged { line("warning: the optimizer stopped before converging (\(optimizerEvaluations) evaluations, NLopt status \(optimizerStatus))") }
        return out
    }

    /// R's `format.pval` with 4 significant digits (`< 2e-16` below machine precision).
    static func formatPValue(_ p: Double) -> String {
        if p < 2.2e-16 { return "< 2e-16" }
        if p < 1e-4 { return String(format: "%.2e", p) }
        return significant(p, 4)
    }

    static func significanceStars(_ p: Double) -> String {
        p < 0.001 ? "***" : p < 0.01 ? "**" : p < 0.05 ? "*" : p < 0.1 ? "." : " "
    }

    /// One JSON object: the Gaussian fit's keys where they apply, plus family, link, method,
    /// nagq, deviance (−2 log L with the family's constants), z and p per fixed effect.
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
        if let dispersion { varcorr.append(["group": "Residual", "sd": number(dispersion)]) }
        var ngroups: [String: Any] = [:]
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
            "varcorr": varcorr,
            "nobs": observationCount,
            "rows_dropped": rowsDropped,
            "ngroups": ngroups,
            "ranef": ranef,
            "ranef_condsd": conditionalSDs,
            "singular": isSingular,
            "converged": converged,
            "optimizer_evaluations": optimizerEvaluations,
            "optimizer_status": Int(optimizerStatus),
            "iterations": iterations,
            "seconds": seconds,
        ]
    }
}
