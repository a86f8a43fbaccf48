import Foundation
import CNumerics
import Linalg

/// The log-likelihood of a binomial or Poisson mixed model given (β, b), summed over the rows
/// through the linear predictor, and its gradient in β and b (docs/math.md, eq. 90-93):
///
///   η = offset + Xβ + Σ_j Z_j b_j,   log p(y | β, b) = C + Σ_i ℓ(y_i | η_i),
///   ∂/∂β = Xᵀr,   ∂/∂b_{j,h} = Σ_{i: g_j(i) = h} r_i z_{j,i},   r_i = ∂ℓ/∂η_i,
///
/// with ℓ and r from `Family.logLikelihoodKernel` and C = Σ_i `logLikelihoodConstant`, summed
/// once. Two passes over the rows per evaluation: one for η (and r), one for Zᵀr; Xβ and Xᵀr are
/// BLAS matrix-vector products. The full log-posterior's likelihood for families without σ.
struct FamilyLikelihood: Sendable {
    let family: Family
    let response: [Double]
    /// Per row: a binomial row's trials, else its prior weight (1 without `weights`).
    let weights: [Double]
    let offset: [Double]
    let fixed: Matrix
    let terms: [RandomEffectsTerm]
    /// Σ_i of the rows' η-free constants (eq. 91).
    let constant: Double

    init(design: Design) {
        precondition(!design.family.isGaussian, "a Gaussian model's full log-posterior works from its cross-products")
        family = design.family
        response = design.response
        weights = design.priorWeights ?? [Double](repeating: 1, count: design.observationCount)
        offset = design.offset
        fixed = design.fixed.matrix
        terms = design.terms
        var constant = 0.0
        for i in response.indices { constant += design.family.logLikelihoodConstant(y: response[i], weight: weights[i]) }
        self.constant = constant
    }

    var observationCount: Int { response.count }

    /// log p(y | β, b) (eq. 91); ∂/∂β written into `betaGradient` and ∂/∂b into
    /// `effectsGradient` (both overwritten). `effects` holds b term by term, level-major, starting
    /// at `effectStarts[j]` for term j, and `effectsGradient` is laid out the same way. `eta` is
    /// scratch of one value per row (it ends holding r).
    func logLikelihood(beta: UnsafeBufferPointer<Double>, effects: UnsafeBufferPointer<Double>, effectStarts: [Int],
                       eta: UnsafeMutableBufferPointer<Double>, betaGradient: UnsafeMutableBufferPointer<Double>,
                       effectsGradient: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = observationCount
        let p = fixed.columns
        precondition(eta.count == n && beta.count == p && betaGradient.count == p)
        // η = offset + Xβ + Σ_j Z_j b_j (eq. 90).
        offset.withUnsafeBufferPointer { o in
            for i in 0..<n { eta[i] = o[i] }
        }
        if p > 0 {
            fixed.storage.withUnsafeBufferPointer { x in
                cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(n), Int32(p), 1, x.baseAddress!, Int32(n), beta.baseAddress!, 1, 1,
                            eta.baseAddress!, 1)
            }
        }
        for (j, term) in terms.enumerated() {
            let (k, start) = (term.size, effectStarts[j])
            Self.withRows(of: term) { codes, z in
                for i in 0..<n {
                    let level = start + Int(codes[i]) * k
                    var s = 0.0
                    for c in 0..<k { s += z[i + c * n] * effects[level + c] }
                    eta[i] += s
                }
            }
        }

        // ℓ and r per row (eq. 91-92); η is overwritten by r.
        var sum = 0.0
        let family = self.family
        response.withUnsafeBufferPointer { y in
            weights.withUnsafeBufferPointer { w in
                for i in 0..<n {
                    let (value, derivative) = family.logLikelihoodKernel(y: y[i], eta: eta[i], weight: w[i])
                    sum += value
                    eta[i] = derivative
                }
            }
        }

        // ∂/∂β = Xᵀr, ∂/∂b = Zᵀr (eq. 93).
        if p > 0 {
            fixed.storage.withUnsafeBufferPointer { x in
                cblas_dgemv(CblasColMajor, CblasTrans, Int32(n), Int32(p), 1, x.baseAddress!, Int32(n), eta.baseAddress!, 1, 0,
                            betaGradient.baseAddress!, 1)
            }
        }
        for i in 0..<effectsGradient.count { effectsGradient[i] = 0 }
        for (j, term) in terms.enumerated() {
            let (k, start) = (term.size, effectStarts[j])
            Self.withRows(of: term) { codes, z in
                for i in 0..<n {
                    let level = start + Int(codes[i]) * k
                    let r = eta[i]
                    for c in 0..<k { effectsGradient[level + c] += z[i + c * n] * r }
                }
            }
        }
        return constant + sum
    }

    /// `body` with a term's level codes and its model rows (column-major n x k).
    private static func withRows(of term: RandomEffectsTerm,
                                 _ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Double>) -> Void) {
        term.groupCodes.withUnsafeBufferPointer { codes in
            term.modelRows.storage.withUnsafeBufferPointer { body(codes, $0) }
        }
    }
}
