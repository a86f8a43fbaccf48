import CNumerics

/// Derivative-free minimization under lower bounds with NLopt's BOBYQA: the optimizer lme4 uses
/// by default (`nloptwrap`), so boundary fits land exactly on the bound as lme4's do.
public struct BoundedOptimizer: Sendable {
    public struct Options: Sendable {
        /// Stop when a step changes every θ by less than this. lme4's `nloptwrap` uses 1e-8;
        /// that left the sleepstudy ML correlation 1.4e-4 (relative) from lme4's, so we ask for
        /// more (docs/decisions.md).
        public var absoluteParameterTolerance = 1e-10
        /// Stop when a step improves the objective by less than this fraction. 1e-13 is about
        /// 500 ulps: past it BOBYQA only chases rounding (InstEval: 64 evaluations instead of 91,
        /// θ unchanged to 4e-6 relative).
        public var relativeObjectiveTolerance = 1e-13
        public var maximumEvaluations = 100_000
        /// BOBYQA's first step per coordinate (NLopt rescales each coordinate by it); nil keeps
        /// NLopt's default, which scales a coordinate by its starting value, so a coordinate
        /// started (or restarted) near 0 only ever takes steps of that size.
        public var initialStep: [Double]? = nil
        /// Called about every `progressInterval` seconds with the evaluations so far and the
        /// lowest objective value seen, so a long optimization (hundreds of θ) shows it is alive.
        public var progress: (@Sendable (_ evaluations: Int, _ best: Double) -> Void)? = nil
        public var progressInterval: Duration = .seconds(10)
        public init() {}
    }

    public struct Result: Sendable {
        public var minimizer: [Double]
        public var minimum: Double
        public var evaluations: Int
        /// NLopt's return code (positive: converged by one of its criteria).
        public var status: Int32
        public var converged: Bool { status > 0 }
    }

    public var options = Options()
    public init(options: Options = Options()) { self.options = options }

    public func minimize(_ objective: @escaping ([Double]) -> Double, start: [Double], lowerBounds: [Double]) -> Result {
        let n = start.count
        final class Context {
            let objective: ([Double]) -> Double
            var evaluations = 0
            var best = Double.infinity
            var lastReport = ContinuousClock.now
            let progress: (@Sendable (Int, Double) -> Void)?
            let interval: Duration
            init(_ objective: @escaping ([Double]) -> Double, progress: (@Sendable (Int, Double) -> Void)?, interval: Duration) {
                self.objective = objective
                self.progress = progress
                self.interval = interval
            }
        }
        let context = Context(objective, progress: options.progress, interval: options.progressInterval)
        let optimizer = nlopt_create(NLOPT_LN_BOBYQA, UInt32(n))
        defer { nlopt_destroy(optimizer) }
        var lower = lowerBounds
        nlopt_set_lower_bounds(optimizer, &lower)
        nlopt_set_xtol_abs1(optimizer, options.absoluteParameterTolerance)
        nlopt_set_ftol_rel(optimizer, options.relativeObjectiveTolerance)
        nlopt_set_maxeval(optimizer, Int32(options.maximumEvaluations))
        if var step = options.initialStep {
            precondition(step.count == n)
            nlopt_set_initial_step(optimizer, &step)
        }
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        nlopt_set_min_objective(optimizer, { count, x, _, data in
            let context = Unmanaged<Context>.fromOpaque(data!).takeUnretainedValue()
            context.evaluations += 1
            let value = context.objective(Array(UnsafeBufferPointer(start: x, count: Int(count))))
            if let progress = context.progress {
                if value < context.best { context.best = value }
                let now = ContinuousClock.now
                if now - context.lastReport >= context.interval {
                    context.lastReport = now
                    progress(context.evaluations, context.best)
                }
            }
            // BOBYQA cannot take ∞; a large finite value steers it away from non-PD points.
            return value.isFinite ? value : Double.greatestFiniteMagnitude / 1e10
        }, unmanaged.toOpaque())
        var x = start
        var minimum = 0.0
        let status = nlopt_optimize(optimizer, &x, &minimum)
        return Result(minimizer: x, minimum: minimum, evaluations: context.evaluations, status: status.rawValue)
    }
}
