import Foundation
import CNumerics
import ModelSpec
import Testing
import TestSupport

/// The unconstrained transforms: round trips and log-Jacobians against finite-difference
/// log|det| of the transform.
@Suite struct TransformTests {
    /// log|det J| of a square Jacobian by LU (LAPACK `dgetrf`).
    static func logAbsDeterminant(_ jacobian: [Double], order n: Int) -> Double {
        var a = jacobian
        var pivots = [Int32](repeating: 0, count: n)
        let info = a.withUnsafeMutableBufferPointer { m in
            pivots.withUnsafeMutableBufferPointer { LAPACKE_dgetrf(LAPACK_COL_MAJOR, Int32(n), Int32(n), m.baseAddress!, Int32(n), $0.baseAddress!) }
        }
        precondition(info == 0)
        return (0..<n).reduce(0.0) { $0 + log(abs(a[$1 + $1 * n])) }
    }

    /// Central-difference Jacobian of f: ℝⁿ → ℝⁿ, column-major, step 10⁻⁶ max(1, |x_i|).
    static func jacobian(_ f: ([Double]) -> [Double], at x: [Double]) -> [Double] {
        let n = x.count
        var result = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            let h = 1e-6 * max(1, abs(x[i]))
            var plus = x, minus = x
            plus[i] += h
            minus[i] -= h
            let fp = f(plus), fm = f(minus)
            for r in 0..<n { result[r + i * n] = (fp[r] - fm[r]) / (2 * h) }
        }
        return result
    }

    static func strictLower(_ w: [Double], order k: Int) -> [Double] {
        var values: [Double] = []
        for i in 1..<k { for j in 0..<i { values.append(w[i + j * k]) } }
        return values
    }

    @Test(arguments: [2, 3, 4, 5])
    func choleskyCorrelationRoundTripAndJacobian(order k: Int) {
        var random = TestRandom(seed: UInt64(100 + k))
        for _ in 0..<5 {
            let y = (0..<CorrelationCholeskyTransform.dimension(order: k)).map { _ in 0.8 * random.normal() }
            let transform = CorrelationCholeskyTransform(y, order: k)
            let w = transform.factor
            // Unit rows, positive diagonal, R = W Wᵀ has unit diagonal.
            for r in 0..<k {
                let norm = (0...r).reduce(0.0) { $0 + w[r + $1 * k] * w[r + $1 * k] }
                #expect(abs(norm - 1) < 1e-14)
                #expect(w[r + r * k] > 0)
            }
            let back = CorrelationCholeskyTransform.unconstrain(factor: w, order: k)
            for (a, b) in zip(back, y) { #expect(abs(a - b) < 1e-12 * max(1, abs(b))) }
            var correlation = [Double](repeating: 0, count: k * k)
            for r in 0..<k { for c in 0..<k { for a in 0..<k { correlation[r + c * k] += w[r + a * k] * w[c + a * k] } } }
            let fromCorrelation = CorrelationCholeskyTransform.unconstrain(correlation: correlation, order: k)!
            for (a, b) in zip(fromCorrelation, y) { #expect(abs(a - b) < 1e-10 * max(1, abs(b))) }

            // log-Jacobian of y ↦ W's strict lower triangle.
            let numericJacobian = Self.jacobian({ Self.strictLower(CorrelationCholeskyTransform($0, order: k).factor, order: k) }, at: y)
            let numeric = Self.logAbsDeterminant(numericJacobian, order: y.count)
            #expect(abs(transform.logJacobian - numeric) < 1e-8, "analytic \(transform.logJacobian), numeric \(numeric)")

            // ∂W/∂y_m and the gradients of log-Jacobian and log W_ii.
            for m in y.indices {
                let h = 1e-6
                var plus = y, minus = y
                plus[m] += h
                minus[m] -= h
                let tp = CorrelationCholeskyTransform(plus, order: k), tm = CorrelationCholeskyTransform(minus, order: k)
                for e in 0..<(k * k) {
                    #expect(abs(transform.factorDerivatives[m][e] - (tp.factor[e] - tm.factor[e]) / (2 * h)) < 1e-8)
                }
                #expect(abs(transform.logJacobianGradient[m] - (tp.logJacobian - tm.logJacobian) / (2 * h)) < 1e-7)
                for i in 0..<k {
                    #expect(abs(transform.logDiagonalDerivatives[m][i] - (tp.logDiagonal[i] - tm.logDiagonal[i]) / (2 * h)) < 1e-7)
                }
            }
        }
    }

    /// constrain ∘ unconstrain and unconstrain ∘ constrain on every form.
    @Test(arguments: [TestModel.sleepstudyCorrelated, .crossedVector, .dyestuff])
    func layoutRoundTrip(model: TestModel) throws {
        let design = try model.design()
        for form in PosteriorForm.allCases {
            let layout = PosteriorLayout(design: design, form: form)
            #expect(layout.names.count == layout.dimension && Set(layout.names).count == layout.dimension)
            var random = TestRandom(seed: 21)
            let x = randomPoint(layout, design: design, random: &random)
            let parameters = layout.constrain(x)
            let back = layout.unconstrain(parameters)
            for (a, b) in zip(back, x) { #expect(abs(a - b) < 1e-12 * max(1, abs(b))) }
            // Through covariance matrices: Σ_j → (τ_j, W_j) → Σ_j.
            let covariances = design.terms.indices.map { parameters.covariance(term: $0) }
            let rebuilt = try #require(PosteriorParameters(beta: parameters.beta, sigma: parameters.sigma, covariances: covariances,
                                                          standardizedEffects: parameters.standardizedEffects))
            for (a, b) in zip(layout.unconstrain(rebuilt), x) { #expect(abs(a - b) < 1e-10 * max(1, abs(b))) }
            for j in design.terms.indices {
                let r = parameters.correlation(term: j)
                let k = design.terms[j].size
                for c in 0..<k { #expect(abs(r[c + c * k] - 1) < 1e-14) }
            }
        }
    }

    @Test func sleepstudyNames() throws {
        let design = try TestModel.sleepstudyCorrelated.design()
        let names = PosteriorLayout(design: design, form: .full).names
        #expect(Array(names.prefix(7)) == ["b_Intercept", "b_Days", "log_sigma", "log_sd_Subject__Intercept", "log_sd_Subject__Days",
                                           "atanh_cpc_Subject__Intercept__Days", "z_Subject.1.1"])
        #expect(names.last == "z_Subject.18.2")
        #expect(PosteriorLayout(design: design, form: .marginal).names == ["log_sigma", "log_sd_Subject__Intercept", "log_sd_Subject__Days",
                                                                           "atanh_cpc_Subject__Intercept__Days"])
    }

    /// The whole layout's log-Jacobian (the `logJacobian` component) against the finite-difference
    /// log|det| of x ↦ (β, σ, τ, W's strict lower triangles, z).
    @Test(arguments: [TestModel.sleepstudyCorrelated, .crossedVector])
    func layoutJacobian(model: TestModel) throws {
        let design = try model.design()
        var target = try FullLogPosterior(design: design, priors: model.priors(for: design))
        let layout = target.layout
        var random = TestRandom(seed: 22)
        let x = randomPoint(layout, design: design, random: &random)
        func constrained(_ x: [Double]) -> [Double] {
            let p = layout.constrain(x)
            var values = p.beta + [p.sigma!] + p.tau.flatMap { $0 }
            for (j, term) in design.terms.enumerated() where term.size > 1 {
                values += Self.strictLower(p.correlationFactors[j], order: term.size)
            }
            return values + p.standardizedEffects.flatMap { $0 }
        }
        let numeric = Self.logAbsDeterminant(Self.jacobian(constrained, at: x), order: x.count)
        let analytic = target.components(at: x).logJacobian
        #expect(abs(analytic - numeric) < 1e-7, "analytic \(analytic), numeric \(numeric)")
    }
}
