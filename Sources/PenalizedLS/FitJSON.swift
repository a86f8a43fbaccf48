import Foundation

/// The JSON pieces the linear and generalized fits share (`mixmc fit --json`): variance
/// components as lme4's `VarCorr` lists them, group counts, and the conditional modes and SDs per
/// grouping factor (terms sharing a factor, as `(x || g)`, merged per level as lme4's `ranef`).
enum FitJSON {
    static func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }

    /// `varcorr` (with a `Residual` entry when `residual` is given), `ngroups`, `ranef`, `ranef_condsd`.
    static func randomEffectsKeys(_ components: [MixedModelFit.VarianceComponent], _ randomEffects: [MixedModelFit.RandomEffects],
                                  residual: Double?) -> [String: Any] {
        var varcorr: [[String: Any]] = []
        for component in components {
            for (index, name) in component.names.enumerated() {
                varcorr.append(["group": component.group, "name": name, "sd": number(component.standardDeviations[index])])
            }
            for r in 0..<component.names.count { for c in 0..<r {
                varcorr.append(["group": component.group, "name": component.names[c], "name2": component.names[r], "corr": number(component.correlations[r][c])])
            } }
        }
        if let residual { varcorr.append(["group": "Residual", "sd": number(residual)]) }
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
        return ["varcorr": varcorr, "ngroups": ngroups, "ranef": ranef, "ranef_condsd": conditionalSDs]
    }

    /// Each pair's correlation from a covariance matrix (row-major).
    static func correlations(_ covariance: [[Double]]) -> [[Any]] {
        covariance.indices.map { r in covariance.indices.map { c in
            number(covariance[r][c] / (covariance[r][r] * covariance[c][c]).squareRoot())
        } }
    }
}
