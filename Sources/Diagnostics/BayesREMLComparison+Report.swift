import Foundation
import PenalizedLS

extension FlatPriorMarginalMode {
    /// |mode − REML| / |REML| per θ entry, then for σ (the absolute difference where REML's
    /// value is 0, a boundary fit).
    public func relativeDifferences(to reml: MixedModelFit) -> (theta: [Double], sigma: Double) {
        func relative(_ a: Double, _ b: Double) -> Double { b == 0 ? abs(a - b) : abs(a - b) / abs(b) }
        return (zip(theta, reml.theta).map(relative), relative(sigma, reml.sigma))
    }
}

extension BayesREMLComparison {
    /// The side-by-side table, the shrinkage table and the marginal-mode check.
    ///
    /// - Parameters:
    ///   - marginalMode: the flat-prior marginal posterior mode of (θ, σ) and the REML fit it is
    ///     checked against (the compared fit itself unless that is ML); nil for a binomial or
    ///     Poisson model, which has no such check.
    public func renderTable(marginalMode check: (mode: FlatPriorMarginalMode, reml: MixedModelFit)?) -> String {
        var out: [String] = []
        out.append("\(estimateName) fit and posterior (\(chainCount) chain\(chainCount == 1 ? "" : "s") x \(drawsPerChain) draws); diff = (mean - \(estimateName)) / sd")
        out.append("")
        var table: [[String]] = [["parameter", estimateName, "(SE)", "mean", "median", "mode", "sd", "2.5%", "97.5%", "diff", "R-hat"]]
        for row in rows {
            table.append([row.name, number(row.estimate), row.standardError.map { "(" + number($0) + ")" } ?? "",
                          number(row.mean), number(row.median), number(row.mode), number(row.sd),
                          number(row.q2_5), number(row.q97_5), fixed(row.standardizedDifference, 2), fixed(row.rhat, 3)])
        }
        out += align(table)
        if !randomEffects.isEmpty {
            out.append("")
            out.append("Random effects: conditional modes (\(estimateName)) against posterior means, per level")
            out.append("")
            var shrinkage: [[String]] = [["group", "coefficient", "levels", "cor", "max |mean - cond. mode|", "at level", "cond. mode", "mean"]]
            for effect in randomEffects {
                let index = effect.levels.firstIndex(of: effect.largestDifferenceLevel)
                shrinkage.append([effect.group, effect.coefficient, String(effect.levels.count), fixed(effect.correlation, 4),
                                  number(effect.largestDifference), effect.largestDifferenceLevel,
                                  index.map { number(effect.conditionalModes[$0]) } ?? "NA",
                                  index.map { number(effect.posteriorMeans[$0]) } ?? "NA"])
            }
            out += align(shrinkage)
        }
        guard let (marginalMode, reml) = check else {
            out.append("")
            out.append("Posterior mode: maximum of a Gaussian kernel density estimate (Silverman bandwidth, reflected at 0 for SDs and at +-1 for correlations).")
            return out.joined(separator: "\n")
        }
        out.append("")
        out.append("Flat-prior marginal posterior mode of (theta, sigma), beta and b integrated out (equals REML):")
        out.append("")
        let differences = marginalMode.relativeDifferences(to: reml)
        var modeTable: [[String]] = [["parameter", "marginal mode", "REML", "rel. diff"]]
        for (index, name) in marginalMode.thetaNames.enumerated() {
            modeTable.append(["theta " + name, precise(marginalMode.theta[index]), precise(reml.theta[index]), scientific(differences.theta[index])])
        }
        modeTable.append(["sigma", precise(marginalMode.sigma), precise(reml.sigma), scientific(differences.sigma)])
        out += align(modeTable)
        out.append("")
        out.append("log p(y | theta, sigma) at the mode: \(precise(marginalMode.logLikelihood)); -REML criterion / 2: \(precise(-reml.objective / 2))")
        out.append("BOBYQA over (theta, log sigma) from theta = \(marginalMode.startTheta.map(precise).joined(separator: ", ")), sigma = SD(y) = \(precise(marginalMode.startSigma)): \(marginalMode.evaluations) evaluations\(marginalMode.converged ? "" : " (not converged)")")
        out.append("Posterior mode: maximum of a Gaussian kernel density estimate (Silverman bandwidth, reflected at 0 for SDs and at +-1 for correlations).")
        return out.joined(separator: "\n")
    }

    /// Everything in one JSON-ready object (docs/compare.md lists the keys). Non-finite numbers
    /// are `null`.
    public func jsonObject(marginalMode check: (mode: FlatPriorMarginalMode, reml: MixedModelFit)?) -> [String: Any] {
        func value(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        let parameters: [[String: Any]] = rows.map { row in
            [
                "name": row.name, "kind": row.kind.rawValue, "label": row.label,
                "estimate": value(row.estimate), "se": row.standardError.map(value) ?? NSNull(),
                "mean": value(row.mean), "median": value(row.median), "mode": value(row.mode), "sd": value(row.sd),
                "q2_5": value(row.q2_5), "q97_5": value(row.q97_5),
                "diff_sd": value(row.standardizedDifference), "rhat": value(row.rhat), "ess_bulk": value(row.essBulk),
            ]
        }
        let shrinkage: [[String: Any]] = randomEffects.map { effect in
            [
                "group": effect.group, "coefficient": effect.coefficient,
                "correlation": value(effect.correlation),
                "max_abs_difference": value(effect.largestDifference), "max_abs_difference_level": effect.largestDifferenceLevel,
                "levels": effect.levels.indices.map { h in
                    ["level": effect.levels[h], "conditional_mode": value(effect.conditionalModes[h]),
                     "posterior_mean": value(effect.posteriorMeans[h])] as [String: Any]
                },
            ]
        }
        var object: [String: Any] = [
            "method": estimateName,
            "chains": chainCount,
            "draws_per_chain": drawsPerChain,
            "parameters": parameters,
            "random_effects": shrinkage,
            "mode_estimator": "gaussian_kde_silverman_reflected",
        ]
        guard let (marginalMode, reml) = check else { return object }
        let differences = marginalMode.relativeDifferences(to: reml)
        object["marginal_mode"] = [
            "theta_names": marginalMode.thetaNames,
            "theta": marginalMode.theta.map(value),
            "sigma": value(marginalMode.sigma),
            "reml_theta": reml.theta.map(value),
            "reml_sigma": value(reml.sigma),
            "relative_difference_theta": differences.theta.map(value),
            "relative_difference_sigma": value(differences.sigma),
            "log_likelihood": value(marginalMode.logLikelihood),
            "reml_log_likelihood": value(-reml.objective / 2),
            "start_theta": marginalMode.startTheta.map(value),
            "start_sigma": value(marginalMode.startSigma),
            "evaluations": marginalMode.evaluations,
            "converged": marginalMode.converged,
        ] as [String: Any]
        return object
    }
}

private func number(_ x: Double) -> String { x.isNaN ? "NA" : String(format: "%.4g", x) }
private func precise(_ x: Double) -> String { x.isNaN ? "NA" : String(format: "%.7g", x) }
private func scientific(_ x: Double) -> String { x.isNaN ? "NA" : String(format: "%.1e", x) }
private func fixed(_ x: Double, _ digits: Int) -> String { x.isNaN ? "NA" : String(format: "%.\(digits)f", x) }

/// Left-aligned first column, right-aligned others, two spaces apart.
private func align(_ rows: [[String]]) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
    return rows.map { row in
        row.enumerated().map { c, cell in
            let padding = String(repeating: " ", count: widths[c] - cell.count)
            return c == 0 ? cell + padding : padding + cell
        }.joined(separator: "  ")
    }
}
