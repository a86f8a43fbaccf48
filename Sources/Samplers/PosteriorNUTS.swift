import Foundation
import Linalg
import ModelSpec

/// Where a posterior chain's kept draws go, as whole output rows. Samplers never touch files:
/// `mixmc sample`'s Stan CSV writer implements this.
public protocol PosteriorRowSink: AnyObject {
    /// Called once, after warmup and before the first sampling row (Stan's adaptation block).
    func adaptationFinished(_ adaptation: AdaptationResult) throws
    /// A kept sampling draw: one value per entry of `PosteriorNUTS.columnNames`, in their order.
    func receive(_ row: [Double]) throws
    /// Called after every iteration (1-based over warmup then sampling), for progress reports.
    func iterationFinished(_ iteration: Int)
}

extension PosteriorRowSink {
    public func adaptationFinished(_ adaptation: AdaptationResult) throws {}
    public func iterationFinished(_ iteration: Int) {}
}

/// Why a posterior NUTS chain could not go on.
public enum PosteriorNUTSError: Error, Equatable, CustomStringConvertible {
    /// The integrated system was not positive definite at a kept draw (the sampler accepted the
    /// point, so this signals a numerical failure, not a modeling one).
    case integratedEffectsFailed(iteration: Int)

    public var description: String {
        switch self {
        case let .integratedEffectsFailed(iteration):
            "iteration \(iteration): the random effects could not be drawn (the integrated system is not positive definite)"
        }
    }
}

/// NUTS with Stan's adaptation on a (generalized) linear mixed model's log-posterior
/// (docs/math.md, eq. 40-55, 90-93), writing rows of the same columns as the Gibbs sampler with
/// Stan's sampler columns after `lp__`:
///
///     lp__, accept_stat__, stepsize__, treedepth__, n_leapfrog__, divergent__, energy__, b_…, sigma, sd_…, cor_…, r_…
///
/// (no `sigma` for binomial and Poisson models).
/// - `.collapsed` (β, log σ, log τ, correlations; the default for Gaussian models): for every kept
///   draw, b is drawn exactly from b | β, σ, Σ, y (eq. 55). Gaussian models only.
/// - `.marginal` (log σ, log τ, correlations): (β, b) | σ, Σ, y drawn exactly for every kept draw.
///   Gaussian models only.
/// - `.full` (the above plus the non-centered z): b = chol(Σ_j) z, computed. Every family.
///
/// `lp__` is the log density NUTS sampled: the unconstrained coordinates' log-posterior with the
/// Jacobian (Stan's convention), not the Gibbs sampler's natural-scale log joint.
///
/// Reproducibility: the chain's one `RandomStream(seed:chain:)` supplies, in order, the start's
/// jitter (and under `.full` for Gaussian models the start's z), then the NUTS transitions and,
/// right after each kept sampling transition, the normals of that draw's integrated-out effects
/// (saved warmup rows draw theirs from the stream of (seed, −chain)). So a chain's rows depend
/// only on (model, priors, start, options), whatever the other chains and threads.
public struct PosteriorNUTS: Sendable {
    /// The log density NUTS moves in, chosen once from the form and the family.
    enum Target: Sendable {
        /// `.full`. `exactEffects` is a Gaussian model's collapsed form, which draws the start's b
        /// exactly; nil for binomial and Poisson models (the start's b is `PosteriorStart`'s).
        case full(FullLogPosterior, exactEffects: CollapsedLogPosterior?)
        /// `.collapsed` or `.marginal`: what was integrated out is drawn exactly for each kept draw.
        case integrated(CollapsedLogPosterior)
    }

    public let form: PosteriorForm
    public let columns: OutputColumns
    let target: Target

    public var layout: PosteriorLayout {
        switch target {
        case .full(let full, _): full.layout
        case .integrated(let integrated): integrated.layout
        }
    }

    /// - Throws: `PosteriorError.integratedFormNeedsGaussian` for `.collapsed` or `.marginal` with
    ///   a binomial or Poisson design; `.priorsDoNotMatch` for priors that do not fit the design.
    public init(design: Design, priors: PriorSet, form: PosteriorForm) throws(PosteriorError) {
        self.form = form
        columns = OutputColumns(design: design)
        switch form {
        case .full:
            let exactEffects = design.family.isGaussian ? try CollapsedLogPosterior(design: design, priors: priors) : nil
            target = .full(try FullLogPosterior(design: design, priors: priors), exactEffects: exactEffects)
        case .collapsed, .marginal:
            target = .integrated(try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: form == .marginal))
        }
    }

    /// The columns of a row: `lp__`, Stan's six other sampler columns, then `OutputColumns`'s.
    public var columnNames: [String] {
        [columns.names[0]] + NUTSStatistics.columnNames.dropFirst() + columns.names.dropFirst()
    }

    /// The names of the unconstrained coordinates (the order of the adaptation block's metric).
    public var coordinateNames: [String] { layout.names }

    /// The jittered start on the unconstrained scale, drawn from `random`: β_i + U(−1, 1)·jitter_i,
    /// log σ, log τ and the correlation coordinates each + U(−1, 1)·`scaleJitter`; under `.full`,
    /// z = chol(Σ_j)⁻¹ b at that point, with b an exact draw of b | β, σ, Σ, y for Gaussian models
    /// (so the random effects start in their conditional posterior rather than at 0) and
    /// `start.randomEffects` for the others.
    public func initialPosition(start: PosteriorStart, random: RandomStream) -> [Double] {
        switch target {
        case .integrated(let integrated):
            return Self.jittered(start, layout: integrated.layout, random: random)
        case .full(let full, let exactEffects?):
            var collapsedTarget = exactEffects
            let base = collapsedTarget.layout
            let x = Self.jittered(start, layout: base, random: random)
            var noise = [Double](repeating: 0, count: collapsedTarget.drawNoiseCount)
            random.fillStandardNormals(&noise)
            var parameters = base.constrain(x)
            // The collapsed system is positive definite wherever the parameters are finite; if the
            // draw fails numerically the effects start at 0 (z = 0), still a valid start.
            let effects = collapsedTarget.drawIntegratedEffects(at: x, noise: noise)?.randomEffects
            parameters.standardizedEffects = Self.standardized(effects, parameters: parameters, levelCounts: full.layout.levelCounts)
            return full.layout.unconstrain(parameters)
        case .full(let full, nil):
            let x = Self.jittered(start, layout: full.layout, random: random)
            var parameters = full.layout.constrain(x)
            parameters.standardizedEffects = Self.standardized(start.randomEffects, parameters: parameters,
                                                               levelCounts: full.layout.levelCounts)
            return full.layout.unconstrain(parameters)
        }
    }

    /// The center on `layout`'s unconstrained scale (z = 0 under `.full`) with the uniform jitter
    /// of β, then of `layout.scaleIndices`, in that order.
    static func jittered(_ start: PosteriorStart, layout: PosteriorLayout, random: RandomStream) -> [Double] {
        let zeros = layout.form == .full ? layout.effectRanges.map { [Double](repeating: 0, count: $0.count) } : []
        var x = layout.unconstrain(PosteriorParameters(beta: start.center.beta, sigma: start.center.sigma, tau: start.center.tau,
                                                       correlationFactors: start.center.correlationFactors,
                                                       standardizedEffects: zeros))
        for (i, index) in layout.betaRange.enumerated() { x[index] += (2 * random.uniform() - 1) * start.betaJitter[i] }
        for index in layout.scaleIndices { x[index] += (2 * random.uniform() - 1) * start.scaleJitter }
        return x
    }

    /// z_{j,h} = chol(Σ_j)⁻¹ b_{j,h} per term (forward substitution), 0 for a term without b.
    static func standardized(_ effects: [[Double]]?, parameters: PosteriorParameters, levelCounts: [Int]) -> [[Double]] {
        (0..<parameters.termCount).map { j in
            let k = parameters.tau[j].count
            let levels = levelCounts[j]
            guard let b = effects?[j] else { return [Double](repeating: 0, count: k * levels) }
            let l = parameters.covarianceFactor(term: j)
            var z = [Double](repeating: 0, count: k * levels)
            for h in 0..<levels {
                for r in 0..<k {
                    var s = b[h * k + r]
                    for c in 0..<r { s -= l[r + c * k] * z[h * k + c] }
                    z[h * k + r] = s / l[r + r * k]
                }
            }
            return z
        }
    }

    /// Runs one chain: the start from `start` (drawn again where it is not finite), then
    /// `runChain`'s warmup and sampling, each kept draw (sampling, and warmup with
    /// `options.saveWarmup`) handed to `sink` as a row of `columnNames`. The random stream is
    /// `RandomStream(seed: options.seed, chain: options.chain)`. `shouldStop` is polled before
    /// every iteration; a sink error stops the chain and is rethrown.
    public func run(start: PosteriorStart, options: ChainOptions, sink: some PosteriorRowSink,
                    shouldStop: @escaping () -> Bool = { false }) throws -> ChainSummary {
        let random = RandomStream(seed: options.seed, chain: options.chain)
        // As Stan retries its random inits: a jittered start where the density or its gradient is
        // not finite (a Poisson or cloglog mean that overflows) is drawn again, up to 100 times;
        // a start that is finite at once, as every Gaussian one is, takes no extra draws.
        var position = initialPosition(start: start, random: random)
        for _ in 1..<Self.startAttempts where !isFinite(at: position) {
            position = initialPosition(start: start, random: random)
        }
        var options = options
        if options.nuts.initialMetric == nil {
            let diagonal = initialInverseMetric(at: position)
            switch options.nuts.metricKind {
            case .diagonal:
                options.nuts.initialMetric = EuclideanMetric(diagonal: diagonal)
            case .dense:
                var matrix = Matrix(rows: diagonal.count, columns: diagonal.count)
                for (i, value) in diagonal.enumerated() { matrix[i, i] = value }
                options.nuts.initialMetric = EuclideanMetric(dense: matrix)
            }
        }
        let adapter = RowAdapter(posterior: self, random: random, sink: sink)
        let stop = { adapter.failure != nil || shouldStop() }
        let summary: ChainSummary
        switch target {
        case .full(let full, _):
            summary = try runChain(target: full, initialPosition: position, options: options, random: random,
                                   sink: adapter, shouldStop: stop)
        case .integrated(let integrated):
            summary = try runChain(target: integrated, initialPosition: position, options: options, random: random,
                                   sink: adapter, shouldStop: stop)
        }
        if let failure = adapter.failure { throw failure }
        return summary
    }

    /// How many jittered starts `run` draws before giving up on a non-finite one.
    static let startAttempts = 100

    /// Whether the target's log density and gradient are finite at `position`.
    func isFinite(at position: [Double]) -> Bool {
        func check<T: LogDensity>(_ target: T) -> Bool {
            var target = target
            let (value, gradient) = target.evaluate(at: position)
            return value.isFinite && gradient.allSatisfy(\.isFinite)
        }
        switch target {
        case .full(let full, _): return check(full)
        case .integrated(let integrated): return check(integrated)
        }
    }

    /// The inverse metric warmup starts from (its first window, the 75-iteration initial buffer,
    /// uses it; windowed adaptation replaces it as in Stan): per coordinate, 1 / (−∂²log p/∂x_i²)
    /// at `position` by central differences of the gradient (step 10⁻⁴ max(1, |x_i|)), or 1 where
    /// that is not finite and positive; z coordinates of `.full` keep 1 (their prior is N(0, 1)).
    ///
    /// Why not Stan's unit metric: sleepstudy's β has posterior SD 7 while log σ has 0.06, so with
    /// a unit metric the step size fits log σ and the first window needs trees of depth 6-8 to move
    /// β; 2 gradients per coordinate (12 on sleepstudy's collapsed target) put every coordinate on
    /// its own scale from the first iteration.
    public func initialInverseMetric(at position: [Double]) -> [Double] {
        var inverse = [Double](repeating: 1, count: position.count)
        let base = layout
        let coordinates = base.betaRange.map { $0 } + base.scaleIndices
        func curvature<T: LogDensity>(_ target: T) {
            var target = target
            for i in coordinates {
                let h = 1e-4 * max(1, abs(position[i]))
                var x = position
                x[i] = position[i] + h
                let up = target.evaluate(at: x)
                x[i] = position[i] - h
                let down = target.evaluate(at: x)
                let second = (up.gradient[i] - down.gradient[i]) / (2 * h)
                if up.logDensity.isFinite, down.logDensity.isFinite, second.isFinite, second < 0 { inverse[i] = -1 / second }
            }
        }
        switch target {
        case .full(let full, _): curvature(full)
        case .integrated(let integrated): curvature(integrated)
        }
        return inverse
    }

    /// The output row of one draw: β, σ, Σ and b from `position` (b drawn with `random` through
    /// `integratedTarget` unless `.full`), `statistics` in the sampler columns. nil when the
    /// integrated system fails.
    func row(position: [Double], statistics: NUTSStatistics, integratedTarget: inout CollapsedLogPosterior?,
             random: RandomStream) -> [Double]? {
        let parameters = layout.constrain(position)
        var beta = parameters.beta
        let effects: [[Double]]
        if form == .full {
            effects = parameters.randomEffects()
        } else {
            var noise = [Double](repeating: 0, count: integratedTarget!.drawNoiseCount)
            random.fillStandardNormals(&noise)
            guard let drawn = integratedTarget!.drawIntegratedEffects(at: position, noise: noise) else { return nil }
            beta = drawn.beta
            effects = drawn.randomEffects
        }
        let base = columns.row(logDensity: statistics.logDensity, beta: beta, sigma: parameters.sigma,
                               covariances: (0..<parameters.termCount).map { parameters.covariance(term: $0) },
                               randomEffects: effects)
        return [base[0]] + statistics.columnValues.dropFirst() + base.dropFirst()
    }

    /// Turns `runChain`'s draws into rows on the chain's thread, keeping the first sink error.
    final class RowAdapter<Sink: PosteriorRowSink>: ChainSink {
        let posterior: PosteriorNUTS
        let random: RandomStream
        let sink: Sink
        /// The chain's own copy of the collapsed or marginal target, for the exact draws (nil under `.full`).
        var integratedTarget: CollapsedLogPosterior?
        var failure: Error?

        init(posterior: PosteriorNUTS, random: RandomStream, sink: Sink) {
            self.posterior = posterior
            self.random = random
            self.sink = sink
            if case .integrated(let integrated) = posterior.target { integratedTarget = integrated }
        }

        func adaptationFinished(_ adaptation: AdaptationResult) {
            guard failure == nil else { return }
            do { try sink.adaptationFinished(adaptation) } catch { failure = error }
        }

        /// The integrated-out effects of saved warmup rows come from their own stream, (seed,
        /// −chain), so that saving the warmup leaves the sampling rows' bits as they are.
        lazy var warmupRandom = RandomStream(seed: random.seed, chain: -random.chain)

        func receive(_ draw: ChainDraw) {
            guard failure == nil else { return }
            guard let row = posterior.row(position: draw.position, statistics: draw.statistics,
                                          integratedTarget: &integratedTarget,
                                          random: draw.isWarmup ? warmupRandom : random) else {
                failure = PosteriorNUTSError.integratedEffectsFailed(iteration: draw.iteration)
                return
            }
            do { try sink.receive(row) } catch { failure = error }
        }

        func iterationFinished(_ iteration: Int) { sink.iterationFinished(iteration) }
    }
}
