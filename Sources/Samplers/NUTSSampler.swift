import Foundation

/// Settings of NUTS and of its warmup adaptation. Defaults are Stan's (CmdStan's `sample`
/// defaults), so a run without options behaves as CmdStan's would.
public struct NUTSOptions: Sendable {
    /// Maximum tree depth: at most 2^maxDepth - 1 leapfrog steps per transition.
    public var maxDepth = 10
    /// Divergence threshold on H - H0.
    public var maxEnergyError = 1000.0
    /// Diagonal (Stan's default) or dense inverse metric.
    public var metricKind: MetricKind = .diagonal
    /// Initial inverse metric; nil means the identity of `metricKind`.
    public var initialMetric: EuclideanMetric?
    /// ε₀: the step size the initialization heuristic starts from and, as in Stan's services,
    /// the one that sets the dual-averaging target μ = log(10 ε₀) for the first stage.
    public var initialStepSize = 1.0
    /// δ, target acceptance statistic.
    public var adaptDelta = 0.8
    /// γ, κ, t₀ of dual averaging.
    public var adaptGamma = 0.05
    public var adaptKappa = 0.75
    public var adaptT0 = 10.0
    /// Metric adaptation windows (see `WindowedAdaptation`).
    public var initBuffer = 75
    public var termBuffer = 50
    public var baseWindow = 25

    public init() {}
}

public enum SamplerError: Error, Equatable {
    /// The initial position has a non-finite log density or gradient.
    case nonFiniteInitialPoint
    /// The position length differs from the target's dimension.
    case dimensionMismatch(expected: Int, actual: Int)
    /// The step-size heuristic kept doubling past 10⁷ (Stan: "Posterior is improper").
    case improperPosterior
    /// The step-size heuristic halved down to zero (Stan: "No acceptably small step size").
    case stepSizeCollapsed
}

/// What warmup leaves behind: the step size and inverse metric that sampling uses (the
/// `# Step size = …` / `# Diagonal elements of inverse mass matrix:` block of a Stan CSV).
public struct AdaptationResult: Sendable, Equatable {
    public var stepSize: Double
    public var metric: EuclideanMetric
}

/// NUTS with Stan's adaptation for one chain: owns the chain's state, step size, metric and
/// adaptation, and draws from its own random source.
///
/// Warmup follows Stan's `run_adaptive_sampler` / `adapt_diag_e_nuts`: the step size heuristic
/// runs once at the start; after each warmup transition dual averaging learns from the
/// acceptance statistic and the metric estimator takes the draw; when a window closes the new
/// metric is installed, the heuristic runs again from the current step size and dual averaging
/// restarts with μ = log(10 ε). `finishWarmup()` sets ε = exp(x̄).
public final class NUTSSampler<Target: LogDensity> {
    public let options: NUTSOptions
    /// The chain's current state (position, log density, gradient, last momentum).
    public private(set) var state: PhasePoint
    /// ε, the nominal step size.
    public private(set) var stepSize: Double
    public var metric: EuclideanMetric { kernel.system.metric }
    public var position: [Double] { state.position }

    private let kernel: NUTSKernel<LeapfrogSystem<Target>>
    private let random: RandomStream
    private var stepSizeAdaptation: DualAveraging
    private var metricAdaptation: MetricAdaptation

    public init(target: Target, initialPosition: [Double], options: NUTSOptions = NUTSOptions(),
                random: RandomStream) throws {
        let n = target.dimension
        guard initialPosition.count == n else {
            throw SamplerError.dimensionMismatch(expected: n, actual: initialPosition.count)
        }
        let metric = options.initialMetric ?? EuclideanMetric.unit(dimension: n, kind: options.metricKind)
        guard metric.dimension == n else {
            throw SamplerError.dimensionMismatch(expected: n, actual: metric.dimension)
        }
        self.options = options
        self.random = random
        var system = LeapfrogSystem(target: target, metric: metric)
        var point = PhasePoint(dimension: n)
        point.position = initialPosition
        system.evaluate(&point)
        guard point.logDensity.isFinite, point.gradient.allSatisfy({ $0.isFinite }) else {
            throw SamplerError.nonFiniteInitialPoint
        }
        state = point
        kernel = NUTSKernel(system: system, maxDepth: options.maxDepth, maxEnergyError: options.maxEnergyError)
        stepSize = options.initialStepSize
        stepSizeAdaptation = DualAveraging(delta: options.adaptDelta, gamma: options.adaptGamma,
                                           kappa: options.adaptKappa, t0: options.adaptT0,
                                           mu: log(10 * options.initialStepSize))
        metricAdaptation = MetricAdaptation(kind: metric.kind, dimension: n,
                                            schedule: WindowedAdaptation(warmup: 0))
    }

    /// Prepares `iterations` warmup transitions: the metric schedule, and the step-size
    /// heuristic from the current step size.
    public func beginWarmup(iterations: Int) throws {
        metricAdaptation = MetricAdaptation(
            kind: metric.kind, dimension: state.dimension,
            schedule: WindowedAdaptation(warmup: iterations, initBuffer: options.initBuffer,
                                         termBuffer: options.termBuffer, baseWindow: options.baseWindow))
        stepSizeAdaptation.restart()
        try initializeStepSize()
    }

    /// One warmup transition followed by the adaptation updates.
    public func warmupTransition() throws -> NUTSStatistics {
        let statistics = kernel.transition(&state, stepSize: stepSize, random: random)
        stepSize = stepSizeAdaptation.learn(acceptStat: statistics.acceptStat)
        if let updated = metricAdaptation.learn(position: state.position) {
            kernel.system.metric = updated
            try initializeStepSize()
            stepSizeAdaptation.mu = log(10 * stepSize)
            stepSizeAdaptation.restart()
        }
        return statistics
    }

    /// Ends adaptation: ε = exp(x̄). If dual averaging has had no iteration since its last
    /// restart (a metric update on the very last warmup iteration, e.g. a zero terminal
    /// buffer), the step size from the heuristic is kept; Stan would reset ε to exp(0) = 1
    /// there (stan-dev/stan#3023).
    @discardableResult
    public func finishWarmup() -> AdaptationResult {
        if stepSizeAdaptation.counter > 0 { stepSize = stepSizeAdaptation.finalStepSize }
        return adaptation
    }

    public var adaptation: AdaptationResult { AdaptationResult(stepSize: stepSize, metric: metric) }

    /// Windows whose metric estimate was not finite / positive definite and was not installed.
    public var rejectedMetricUpdates: Int { metricAdaptation.rejectedUpdates }

    /// One sampling transition with the current step size and metric.
    public func transition() -> NUTSStatistics {
        kernel.transition(&state, stepSize: stepSize, random: random)
    }

    /// Stan's step-size heuristic (`base_hmc::init_stepsize`): from ε, take one leapfrog step
    /// with fresh momentum; if the energy change gives acceptance above 0.8 keep doubling ε,
    /// otherwise keep halving, until the acceptance crosses 0.8. The chain's state is left as
    /// it was; random draws are consumed for the momenta.
    public func initializeStepSize() throws {
        if stepSize == 0 || stepSize > 1e7 || stepSize.isNaN { return }
        let start = state
        var point = state
        let threshold = log(0.8)

        func energyChange() -> Double {
            point.assign(start)
            kernel.system.sampleMomentum(&point, random: random)
            let initialEnergy = kernel.system.hamiltonian(point)
            kernel.system.step(&point, stepSize: stepSize)
            var energy = kernel.system.hamiltonian(point)
            if energy.isNaN { energy = .infinity }
            return initialEnergy - energy
        }

        let increase = energyChange() > threshold
        while true {
            let deltaEnergy = energyChange()
            if increase && !(deltaEnergy > threshold) { break }
            if !increase && !(deltaEnergy < threshold) { break }
            stepSize = increase ? 2 * stepSize : 0.5 * stepSize
            if stepSize > 1e7 { throw SamplerError.improperPosterior }
            if stepSize == 0 { throw SamplerError.stepSizeCollapsed }
        }
    }
}
