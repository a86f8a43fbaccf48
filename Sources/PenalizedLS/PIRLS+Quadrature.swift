import Foundation
import ModelSpec

extension PIRLS {
    /// −2 log L by adaptive Gauss-Hermite quadrature for one scalar random-effects term, at the
    /// conditional modes PIRLS left (docs/math.md, eq. 80): per group g, with f_g(u) = −2 log
    /// p(y_g | u) + u², mode ũ_g and scale s_g = 1/L_gg,
    ///
    ///     −2 log L_g = f_g(ũ_g) + log L_gg² − 2 log Σ_k w_k exp(−½[f_g(ũ_g + s_g z_k) − f_g(ũ_g)] + z_k²/2).
    ///
    /// With the family's constants (the Laplace convention); one node gives the Laplace value.
    /// f_g is summed from deviance residuals, whose difference from (71) is constant in u.
    func adaptiveQuadratureDeviance(rule: GaussHermiteRule) -> Double {
        let term = design.terms[0]
        precondition(design.terms.count == 1 && term.size == 1)
        let groups = term.levelCount
        let theta = factors[0][0]
        let n = design.observationCount
        // f_g at the mode, and each row's fixed part of η.
        var atMode = [Double](repeating: 0, count: groups)
        var fixed = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let g = Int(term.groupCodes[i])
            atMode[g] += family.devianceResidual(y: y[i], mu: mu[i], weight: priorWeights[i])
            fixed[i] = eta[i] - term.modelRows[i, 0] * theta * u[g]
        }
        var scale = [Double](repeating: 0, count: groups)
        var total = 0.0
        for g in 0..<groups {
            let diagonal = randomFactor.diagonal[g]
            scale[g] = 1 / diagonal
            atMode[g] += u[g] * u[g]
            total += atMode[g] + 2 * log(diagonal)
        }
        var sums = [Double](repeating: 0, count: groups)
        var shifted = [Double](repeating: 0, count: groups)
        for (z, w) in zip(rule.nodes, rule.weights) {
            if z == 0 {
                for g in 0..<groups { sums[g] += w }
                continue
            }
            for g in 0..<groups {
                let v = u[g] + scale[g] * z
                shifted[g] = v * v
            }
            for i in 0..<n {
                let g = Int(term.groupCodes[i])
                let value = fixed[i] + term.modelRows[i, 0] * theta * (u[g] + scale[g] * z)
                shifted[g] += family.devianceResidual(y: y[i], mu: family.mean(value), weight: priorWeights[i])
            }
            for g in 0..<groups { sums[g] += w * exp(-0.5 * (shifted[g] - atMode[g]) + z * z / 2) }
        }
        for g in 0..<groups { total -= 2 * log(sums[g]) }
        // Deviance residuals above (eq. 72); the saturated constant makes it −2 log L (eq. 71).
        return total + saturatedDeviance
    }
}
