import Foundation
import Linalg
import ModelSpec

extension GeneralizedMixedModelFit {
    /// Where stage 2 by Newton's method ended (eq. 78a): the optimum, PIRLS's mode there, and the
    /// derivatives lme4's summary reads (the gradient (77a) and the Hessian from its differences).
    struct NewtonOptimum {
        var x: [Double]
        var value: Double
        var mode: [Double]
        var gradient: [Double]
        var hessian: [Double]
        /// Deviance evaluations of the steps and line searches, and the gradient evaluations of the
        /// Hessians taken to step by (not the final one, which the SEs need anyway).
        var evaluations: Int
    }

    /// Newton steps on (77) over (θ, β) from stage 1's optimum, with the gradient of (77a) and its
    /// central differences as the Hessian (eq. 78a); nil when they cannot finish stage 2 (a
    /// Hessian that is not positive definite, a line search that fails, a θ at its bound), so
    /// that BOBYQA does it as before. PIRLS is left at the optimum's (θ, β) and mode.
    /// `evaluations` counts what they spent, whether they finish or not.
    static func newtonStage(_ pirls: PIRLS, gradient: LaplaceGradient, start: [Double], lowerBounds: [Double],
                            evaluations: inout Int) -> NewtonOptimum? {
        let d = start.count
        // A θ at (or near) its bound: the optimum may be on it, where the gradient need not vanish.
        guard zip(start, lowerBounds).allSatisfy({ $0.1 == -.infinity || $0.0 - $0.1 > newtonBoundClearance }) else { return nil }
        evaluations = 0
        func evaluate(_ x: [Double], from mode: [Double]) -> (value: Double, mode: [Double]) {
            evaluations += 1
            pirls.setU(mode)
            let value = deviance(pirls, at: x, quadrature: nil)
            return (value, pirls.u)
        }
        var x = start
        var (value, mode) = evaluate(x, from: pirls.u)
        guard value.isFinite else { return nil }
        var g = gradient.gradient(of: pirls)
        func hessian(at x: [Double], mode: [Double]) -> [Double] {
            hessianFromGradients(at: x, mode: mode, gradient: gradient, first: pirls)
        }
        // The Hessians that only direct steps are forward differences from the gradient at hand
        // (d evaluations, error of order 10⁻⁴ relative: it slows the chord steps by as little).
        func steppingHessian(at x: [Double], mode: [Double], gradient g: [Double]) -> [Double] {
            evaluations += d
            return hessianFromGradients(at: x, mode: mode, gradient: gradient, first: pirls, forwardFrom: g)
        }
        var h = steppingHessian(at: x, mode: mode, gradient: g)
        var hessians = 1
        var lastDecrement = Double.infinity
        var finalHessianTaken = false
        for _ in 0..<maximumNewtonIterations {
            guard let (step, decrement) = newtonDirection(gradient: g, hessian: h) else { return nil }
            if decrement <= newtonDecrementTolerance * max(1, abs(value)) {
                if finalHessianTaken { break }
                // Converged with the Hessian we stepped by: take it anew at the optimum (the SEs
                // need it there) and go on only if it asks for more.
                h = hessian(at: x, mode: mode)
                finalHessianTaken = true
                lastDecrement = .infinity
                continue
            }
            // A chord iteration that stalls (the Hessian taken far from here): take it again.
            if decrement > 0.25 * lastDecrement && hessians < maximumNewtonHessians {
                h = steppingHessian(at: x, mode: mode, gradient: g)
                hessians += 1
                lastDecrement = .infinity
                continue
            }
            lastDecrement = decrement
            // Backtracking (Armijo) line search inside the bounds.
            var length = 1.0
            var accepted: (x: [Double], value: Double, mode: [Double])?
            for _ in 0..<maximumNewtonHalvings {
                let candidate = zip(x, step).map { $0 + length * $1 }
                if zip(candidate, lowerBounds).allSatisfy({ $0.0 >= $0.1 }) {
                    let trial = evaluate(candidate, from: mode)
                    // gᵀp = −decrement; the deviance's rounding is allowed for near the optimum.
                    if trial.value <= value - 1e-4 * length * decrement + 1e-13 * abs(value) {
                        accepted = (candidate, trial.value, trial.mode)
                        break
                    }
                }
                length /= 2
            }
            guard let (newX, newValue, newMode) = accepted else { return nil }
            x = newX
            value = newValue
            mode = newMode
            g = gradient.gradient(of: pirls)
            finalHessianTaken = false
        }
        guard finalHessianTaken else { return nil }
        pirls.setU(mode)
        _ = deviance(pirls, at: x, quadrature: nil)
        return NewtonOptimum(x: x, value: value, mode: mode, gradient: g, hessian: h, evaluations: evaluations)
    }

    /// Stop when the Newton decrement gᵀH⁻¹g (twice the decrease a quadratic model predicts) is
    /// below this fraction of the deviance: on VerbAgg 1e-14, a point about 1e-7 standard errors
    /// from the optimum, one or two chord steps past where the deviance stops changing in its
    /// printed digits (its rounding is about 1e-12). The gradient's own rounding puts the floor
    /// near 1e-30 of the deviance, far below.
    static let newtonDecrementTolerance = 1e-18
    /// The optimizer status a fit finished by Newton steps reports: NLopt's generic success code
    /// (NLOPT_SUCCESS), as stage 2 has no NLopt stopping rule of its own then.
    static let newtonStatus: Int32 = 1
    static let maximumNewtonIterations = 50
    static let maximumNewtonHessians = 4
    static let maximumNewtonHalvings = 30
    /// Stage 1's θ closer than this to a lower bound leaves stage 2 to BOBYQA.
    static let newtonBoundClearance = 1e-3

    /// −H⁻¹g and gᵀH⁻¹g, or nil when H is not positive definite.
    static func newtonDirection(gradient g: [Double], hessian: [Double]) -> (step: [Double], decrement: Double)? {
        let n = g.count
        guard let lower = SmallDense.lowerCholesky(hessian, order: n) else { return nil }
        var step = g.map { -$0 }
        lower.withUnsafeBufferPointer { l in
            step.withUnsafeMutableBufferPointer { SmallDense.solveLower(l.baseAddress!, order: n, $0.baseAddress!) }
        }
        let decrement = step.reduce(0) { $0 + $1 * $1 }
        lower.withUnsafeBufferPointer { l in
            step.withUnsafeMutableBufferPointer { SmallDense.solveLowerTransposed(l.baseAddress!, order: n, $0.baseAddress!) }
        }
        return (step, decrement)
    }

    /// H by central differences of the gradient (77a) with lme4's step 10⁻⁴, symmetrized
    /// (column-major): the 2d points evaluated on all cores, each PIRLS started from `mode`. With
    /// `forwardFrom` (the gradient at x), forward differences instead: d points.
    static func hessianFromGradients(at x: [Double], mode: [Double], gradient: LaplaceGradient, first: PIRLS,
                                     forwardFrom center: [Double]? = nil) -> [Double] {
        let d = x.count
        let step = ConvergenceCheck.step
        var points: [[Double]] = []
        for j in 0..<d {
            var plus = x, minus = x
            plus[j] += step
            minus[j] -= step
            points += center == nil ? [plus, minus] : [plus]
        }
        let gradients = evaluateInParallel(points, from: mode, design: gradient.design, first: first) { pirls, point in
            deviance(pirls, at: point, quadrature: nil).isFinite ? gradient.gradient(of: pirls) : Array(repeating: .nan, count: d)
        }
        var h = [Double](repeating: 0, count: d * d)
        for j in 0..<d {
            for i in 0..<d {
                if let center {
                    h[i + j * d] = (gradients[j][i] - center[i]) / step
                } else {
                    h[i + j * d] = (gradients[2 * j][i] - gradients[2 * j + 1][i]) / (2 * step)
                }
            }
        }
        for j in 0..<d {
            for i in 0..<j {
                let mean = (h[i + j * d] + h[j + i * d]) / 2
                h[i + j * d] = mean
                h[j + i * d] = mean
            }
        }
        return h
    }

    /// `body` at each point, PIRLS started from `mode` for every one, so that a result does not
    /// depend on which points came before it: the points are shared among threads (one PIRLS
    /// each, `first` one of them) and the results are the same bits on any number of them.
    static func evaluateInParallel<Value>(_ points: [[Double]], from mode: [Double], design: Design, first: PIRLS,
                                          _ body: @escaping (PIRLS, [Double]) -> Value) -> [Value] {
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8, points.count))
        let workers = [first] + (1..<threads).map { _ in PIRLS(design: design) }
        var values = [Value?](repeating: nil, count: points.count)
        values.withUnsafeMutableBufferPointer { output in
            // Each thread reads its own PIRLS and writes only its own indices.
            nonisolated(unsafe) let output = output, workers = workers, body = body
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                let pirls = workers[thread]
                for index in stride(from: thread, to: points.count, by: threads) {
                    pirls.setU(mode)
                    output[index] = body(pirls, points[index])
                }
            }
        }
        return values.map { $0! }
    }
}
