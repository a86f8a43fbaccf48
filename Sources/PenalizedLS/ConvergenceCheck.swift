import CNumerics
import Linalg

/// lme4's check of a fit at the reported optimum (`checkConv` after `deriv12`, lme4 1.1-31),
/// so a `converged` claim is backed by the objective's derivatives and not only by the
/// optimizer's stopping rule.
///
/// - A fit with some θ entry bounded below by 0 and below `singularTolerance` (1e-4) is
///   singular: lme4 says `boundary (singular) fit: see help('isSingular')` and checks nothing
///   else (a gradient at a bound need not vanish).
/// - Otherwise the gradient g and Hessian H of the objective in θ are taken by central
///   differences with step 1e-4 (a step that would cross a lower bound is shortened to it, as
///   `deriv12` does). The scaled gradient H^{-1/2} g (R's `solve(chol(H), g)`) and g are
///   compared entry by entry; when the larger of their entry-wise minima exceeds
///   `gradientTolerance` (2e-3) the fit has not converged (`Model failed to converge with
///   max|grad| = …`). A Hessian with an eigenvalue below −1e-6 is not at a minimum
///   (`degenerate Hessian`); near-zero or badly conditioned Hessians are reported as lme4 does.
public struct ConvergenceCheck: Sendable {
    public static let singularTolerance = 1e-4
    public static let gradientTolerance = 2e-3
    public static let hessianTolerance = 1e-6
    public static let step = 1e-4

    /// lme4's messages, in its order; empty for a clean fit.
    public let messages: [String]
    /// True unless the gradient or the Hessian says the point is not a minimum (lme4's negative
    /// `optinfo$conv$lme4$code`). A singular fit is not checked and counts as converged.
    public let passed: Bool
    public let isSingular: Bool
    /// ∂objective/∂θ at the optimum (empty for singular fits, which lme4 does not check).
    public let gradient: [Double]
    /// max_i min(|H^{-1/2} g|_i, |g_i|), lme4's `maxmingrad` (nil for singular fits).
    public let maximumScaledGradient: Double?

    public static let singularMessage = "boundary (singular) fit: see help('isSingular')"

    /// Checks `objective` (value `value` at `theta`) as lme4 checks an `lmer` fit.
    public init(objective: ([Double]) -> Double, theta: [Double], value: Double, lowerBounds: [Double]) {
        let singular = zip(theta, lowerBounds).contains { $0.1 == 0 && $0.0 < Self.singularTolerance }
        let derivatives = singular || theta.isEmpty ? nil : Self.derivatives(objective, at: theta, value: value, lowerBounds: lowerBounds)
        self.init(derivatives: derivatives, parameters: theta, lowerBounds: lowerBounds)
    }

    /// The same check from derivatives already taken (a GLMM fit's Hessian over (θ, β), which
    /// its standard errors need anyway); nil derivatives for a fit that is not checked.
    init(derivatives: (gradient: [Double], hessian: [Double])?, parameters theta: [Double], lowerBounds: [Double]) {
        let singular = zip(theta, lowerBounds).contains { $0.1 == 0 && $0.0 < Self.singularTolerance }
        isSingular = singular
        guard !singular, let (g, h) = derivatives else {
            messages = singular ? [Self.singularMessage] : []
            passed = true
            gradient = []
            maximumScaledGradient = nil
            return
        }
        gradient = g
        var messages: [String] = []
        var passed = true
        let n = theta.count
        if g.contains(where: \.isNaN) {
            messages.append("Gradient contains NAs")
            self.messages = messages
            self.passed = false
            maximumScaledGradient = nil
            return
        }
        if let lower = SmallDense.lowerCholesky(h, order: n) {
            // R's solve(chol(H), g) with chol(H) = Lᵀ: x = L⁻ᵀ g.
            var scaled = g
            lower.withUnsafeBufferPointer { l in
                scaled.withUnsafeMutableBufferPointer { SmallDense.solveLowerTransposed(l.baseAddress!, order: n, $0.baseAddress!) }
            }
            let worst = zip(scaled, g).map { min(abs($0.0), abs($0.1)) }
            let maximum = worst.max() ?? 0
            maximumScaledGradient = maximum
            if maximum > Self.gradientTolerance {
                passed = false
                let component = (worst.firstIndex(of: maximum) ?? 0) + 1
                messages.append("Model failed to converge with max|grad| = \(rNumber(maximum)) (tol = \(rNumber(Self.gradientTolerance)), component \(component))")
            }
        } else {
            maximumScaledGradient = nil
            passed = false
            messages.append("unable to evaluate scaled gradient")
        }
        let hessian = Self.hessianMessages(h, order: n)
        if hessian.failed { passed = false }
        messages += hessian.messages
        self.messages = messages
        self.passed = passed
    }

    /// lme4's `deriv12`: central differences with step `step`, shortened at lower bounds.
    static func derivatives(_ f: ([Double]) -> Double, at x: [Double], value: Double, lowerBounds: [Double]) -> (gradient: [Double], hessian: [Double]) {
        derivatives(evaluatingAll: { $0.map(f) }, at: x, value: value, lowerBounds: lowerBounds)
    }

    /// The gradient part of `deriv12` alone: (f(x + h e_j) − f(x − h e_j)) / 2h, the points
    /// evaluated in one call.
    static func gradient(evaluatingAll evaluate: ([[Double]]) -> [Double], at x: [Double], lowerBounds: [Double]) -> [Double] {
        let down = x.indices.map { x[$0] - step < lowerBounds[$0] ? x[$0] - lowerBounds[$0] : step }
        var points: [[Double]] = []
        for j in x.indices {
            var plus = x, minus = x
            plus[j] += step
            minus[j] -= down[j]
            points += [plus, minus]
        }
        let values = evaluate(points)
        return x.indices.map { j in (values[2 * j] - values[2 * j + 1]) / (step + down[j]) }
    }

    /// `deriv12` with the objective evaluated at all its points in one call, which may spread
    /// them over threads: the points and the arithmetic on their values do not depend on how.
    static func derivatives(evaluatingAll evaluate: ([[Double]]) -> [Double], at x: [Double], value: Double,
                            lowerBounds: [Double]) -> (gradient: [Double], hessian: [Double]) {
        let n = x.count
        let up = [Double](repeating: step, count: n)
        let down = x.indices.map { x[$0] - step < lowerBounds[$0] ? x[$0] - lowerBounds[$0] : step }
        // Points in the order they are read below: per j, x ± e_j, then per i < j the four corners.
        var points: [[Double]] = []
        func add(_ moves: [(Int, Double)]) {
            var point = x
            for (index, delta) in moves { point[index] += delta }
            points.append(point)
        }
        for j in 0..<n {
            add([(j, up[j])])
            add([(j, -down[j])])
            for i in 0..<j {
                add([(i, up[i]), (j, up[j])])
                add([(i, up[i]), (j, -down[j])])
                add([(i, -down[i]), (j, up[j])])
                add([(i, -down[i]), (j, -down[j])])
            }
        }
        let values = evaluate(points)
        var next = 0
        func shifted() -> Double {
            defer { next += 1 }
            return values[next]
        }
        var gradient = [Double](repeating: 0, count: n)
        var hessian = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            let plus = shifted(), minus = shifted()
            hessian[j + j * n] = plus / (up[j] * up[j]) - 2 * value / (up[j] * down[j]) + minus / (down[j] * down[j])
            gradient[j] = (plus - minus) / (up[j] + down[j])
            for i in 0..<j {
                let entry = shifted() / ((up[i] + up[j]) * (up[i] + up[j]))
                    - shifted() / ((up[i] + down[j]) * (up[i] + down[j]))
                    - shifted() / ((down[i] + up[j]) * (down[i] + up[j]))
                    + shifted() / ((down[i] + down[j]) * (down[i] + down[j]))
                hessian[i + j * n] = entry
                hessian[j + i * n] = entry
            }
        }
        return (gradient, hessian)
    }

    /// lme4's `checkHess`: (messages, whether the point is not a minimum).
    static func hessianMessages(_ hessian: [Double], order n: Int) -> (messages: [String], failed: Bool) {
        guard hessian.allSatisfy(\.isFinite), let values = symmetricEigenvalues(hessian, order: n) else {
            return (["Problem with Hessian check (infinite or missing values?)"], true)
        }
        let tolerance = hessianTolerance
        let negative = values.filter { $0 < -tolerance }.count
        if negative > 0 {
            return (["Model failed to converge: degenerate  Hessian with \(negative) negative eigenvalues"], true)
        }
        if values.contains(where: { abs($0) < tolerance }) || SmallDense.lowerCholesky(hessian, order: n) == nil {
            return (["Hessian is numerically singular: parameters are not uniquely determined"], false)
        }
        var messages: [String] = []
        let (smallest, largest) = (values.min()!, values.max()!)
        if largest * tolerance > 1 { messages.append("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?") }
        if smallest / largest < tolerance { messages.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?") }
        return (messages, false)
    }

    /// Eigenvalues of a symmetric n x n matrix (column-major) by LAPACK's dsyev.
    static func symmetricEigenvalues(_ matrix: [Double], order n: Int) -> [Double]? {
        var a = matrix
        var values = [Double](repeating: 0, count: n)
        let info = LAPACKE_dsyev(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "L")), Int32(n), &a, Int32(n), &values)
        return info == 0 ? values : nil
    }
}

/// A number as R's `%g` prints it in lme4's messages (six significant digits).
private func rNumber(_ x: Double) -> String {
    String(format: "%g", x)
}
