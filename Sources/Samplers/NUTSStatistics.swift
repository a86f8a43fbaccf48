/// The per-iteration sampler statistics of Stan's NUTS, one value per draw; the field comments
/// give the Stan CSV column each one becomes.
public struct NUTSStatistics: Sendable, Equatable {
    /// `lp__`: log p(θ) of the draw, up to the target's additive constant.
    public var logDensity: Double
    /// `accept_stat__`: mean over all leapfrog states of the trajectory (including a final
    /// subtree that was rejected) of min(1, exp(H0 - H)); the statistic dual averaging drives
    /// towards `adaptDelta`.
    public var acceptStat: Double
    /// `stepsize__`: the step size ε used for this transition.
    public var stepSize: Double
    /// `treedepth__`: the number of doublings that were accepted into the trajectory.
    public var treeDepth: Int
    /// `n_leapfrog__`: leapfrog steps (= gradient evaluations) taken, rejected subtree included.
    public var leapfrogSteps: Int
    /// `divergent__`: true when some leapfrog state had H - H0 above the divergence threshold.
    public var divergent: Bool
    /// `energy__`: the Hamiltonian H(q, p) at the selected state.
    public var energy: Double

    public init(logDensity: Double, acceptStat: Double, stepSize: Double, treeDepth: Int,
                leapfrogSteps: Int, divergent: Bool, energy: Double) {
        self.logDensity = logDensity
        self.acceptStat = acceptStat
        self.stepSize = stepSize
        self.treeDepth = treeDepth
        self.leapfrogSteps = leapfrogSteps
        self.divergent = divergent
        self.energy = energy
    }

    /// Stan's column names, in Stan's order.
    public static let columnNames = ["lp__", "accept_stat__", "stepsize__", "treedepth__",
                                     "n_leapfrog__", "divergent__", "energy__"]

    /// The values in `columnNames` order, as Stan writes them (booleans and counts as numbers).
    public var columnValues: [Double] {
        [logDensity, acceptStat, stepSize, Double(treeDepth), Double(leapfrogSteps),
         divergent ? 1 : 0, energy]
    }
}
