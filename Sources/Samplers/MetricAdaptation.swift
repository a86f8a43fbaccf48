import Linalg

/// Welford's running mean and sum of squared deviations, per coordinate (Stan's
/// `welford_var_estimator`).
struct WelfordVariance: Sendable, Equatable {
    private(set) var count = 0
    private var mean: [Double]
    private var sumSquares: [Double]

    init(dimension: Int) {
        mean = [Double](repeating: 0, count: dimension)
        sumSquares = mean
    }

    mutating func add(_ x: [Double]) {
        count += 1
        let n = Double(count)
        for i in x.indices {
            let delta = x[i] - mean[i]
            mean[i] += delta / n
            sumSquares[i] += (x[i] - mean[i]) * delta
        }
    }

    /// The unbiased sample variances (divisor n - 1); needs at least two samples.
    var variance: [Double] { sumSquares.map { $0 / (Double(count) - 1) } }

    mutating func restart() {
        count = 0
        for i in mean.indices { mean[i] = 0; sumSquares[i] = 0 }
    }
}

/// Welford's running mean and cross-product matrix (Stan's `welford_covar_estimator`).
struct WelfordCovariance: Sendable, Equatable {
    private(set) var count = 0
    private var mean: [Double]
    private var crossProducts: Matrix

    init(dimension: Int) {
        mean = [Double](repeating: 0, count: dimension)
        crossProducts = Matrix(rows: dimension, columns: dimension)
    }

    mutating func add(_ x: [Double]) {
        count += 1
        let n = Double(count)
        var delta = x
        for i in x.indices {
            delta[i] = x[i] - mean[i]
            mean[i] += delta[i] / n
        }
        for j in x.indices {
            for i in x.indices { crossProducts[i, j] += (x[i] - mean[i]) * delta[j] }
        }
    }

    /// The unbiased sample covariance (divisor n - 1); needs at least two samples.
    var covariance: Matrix {
        var c = crossProducts
        for k in c.storage.indices { c.storage[k] /= Double(count) - 1 }
        return c
    }

    mutating func restart() {
        count = 0
        for i in mean.indices { mean[i] = 0 }
        crossProducts = Matrix(rows: mean.count, columns: mean.count)
    }
}

/// Stan's metric adaptation (`var_adaptation`, `covar_adaptation`): during each window of the
/// schedule the draws are accumulated; at the window's end the inverse metric becomes their
/// covariance shrunk towards 10⁻³ I,
///
///   M⁻¹ = n/(n + 5) · S + 10⁻³ · 5/(n + 5) · I,
///
/// which keeps it positive definite and well scaled when a window holds few draws.
///
/// A window with fewer than two draws (possible only with a zero base window) leaves the metric
/// unchanged rather than shrinking the old one (Stan shrinks it; stan-dev/stan#3037). A shrunk
/// estimate that is not finite or not positive definite is not installed either: the returned
/// value is nil and the previous metric stays (Stan throws "Numerical overflow in metric
/// adaptation" there).
public struct MetricAdaptation: Sendable {
    public let kind: MetricKind
    public private(set) var schedule: WindowedAdaptation
    private var variance: WelfordVariance
    private var covariance: WelfordCovariance
    /// Windows whose estimate could not be installed (non-finite or not positive definite).
    public private(set) var rejectedUpdates = 0

    public init(kind: MetricKind, dimension: Int, schedule: WindowedAdaptation) {
        self.kind = kind
        self.schedule = schedule
        variance = WelfordVariance(dimension: kind == .diagonal ? dimension : 0)
        covariance = WelfordCovariance(dimension: kind == .dense ? dimension : 0)
    }

    /// Feeds the draw of the current warmup iteration; returns the new metric when this
    /// iteration closes a window.
    public mutating func learn(position: [Double]) -> EuclideanMetric? {
        if schedule.inAdaptationWindow {
            switch kind {
            case .diagonal: variance.add(position)
            case .dense: covariance.add(position)
            }
        }
        guard schedule.atWindowEnd else {
            schedule.advance()
            return nil
        }
        schedule.advance()
        let metric = regularizedEstimate()
        variance.restart()
        covariance.restart()
        if metric == nil { rejectedUpdates += 1 }
        return metric
    }

    private func regularizedEstimate() -> EuclideanMetric? {
        switch kind {
        case .diagonal:
            guard variance.count >= 2 else { return nil }
            let n = Double(variance.count)
            return EuclideanMetric(diagonal: variance.variance.map { (n / (n + 5)) * $0 + 1e-3 * (5 / (n + 5)) })
        case .dense:
            guard covariance.count >= 2 else { return nil }
            let n = Double(covariance.count)
            var c = covariance.covariance
            for k in c.storage.indices { c.storage[k] *= n / (n + 5) }
            for i in 0..<c.rows { c[i, i] += 1e-3 * (5 / (n + 5)) }
            return EuclideanMetric(dense: c)
        }
    }
}
