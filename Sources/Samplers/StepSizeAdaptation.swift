import Foundation

/// Nesterov dual averaging of log ε (Hoffman & Gelman 2014, §3.2; Stan's
/// `stepsize_adaptation`): drives the mean acceptance statistic towards `delta`.
///
/// After t updates with statistics a₁…a_t:
///   s̄_t = (1 - η_t) s̄_{t-1} + η_t (δ - a_t),  η_t = 1 / (t + t₀)
///   x_t = μ - s̄_t √t / γ,  ε_t = exp(x_t)
///   x̄_t = (1 - t^{-κ}) x̄_{t-1} + t^{-κ} x_t,  and the final ε = exp(x̄_t).
public struct DualAveraging: Sendable, Equatable {
    /// δ, the target acceptance statistic (Stan's `adapt delta`, default 0.8).
    public var delta: Double
    /// γ, the adaptation regularization scale (0.05).
    public var gamma: Double
    /// κ, the relaxation exponent of the averaged iterate (0.75).
    public var kappa: Double
    /// t₀, the iteration offset that damps early updates (10).
    public var t0: Double
    /// μ, the value log ε is shrunk towards; Stan sets log(10 ε₀).
    public var mu: Double

    public private(set) var counter = 0.0
    private var sBar = 0.0
    private var xBar = 0.0

    public init(delta: Double = 0.8, gamma: Double = 0.05, kappa: Double = 0.75, t0: Double = 10,
                mu: Double = log(10)) {
        self.delta = delta
        self.gamma = gamma
        self.kappa = kappa
        self.t0 = t0
        self.mu = mu
    }

    /// Forgets the history (after a metric update, when the step size must be relearned).
    public mutating func restart() {
        counter = 0
        sBar = 0
        xBar = 0
    }

    /// Records one acceptance statistic (clipped at 1, as Stan does) and returns the step size
    /// for the next iteration.
    public mutating func learn(acceptStat: Double) -> Double {
        counter += 1
        let statistic = min(acceptStat, 1)
        let eta = 1 / (counter + t0)
        sBar = (1 - eta) * sBar + eta * (delta - statistic)
        let x = mu - sBar * counter.squareRoot() / gamma
        let xEta = pow(counter, -kappa)
        xBar = (1 - xEta) * xBar + xEta * x
        return exp(x)
    }

    /// exp(x̄): the step size to sample with once adaptation ends.
    public var finalStepSize: Double { exp(xBar) }
}
