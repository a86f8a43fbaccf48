import Foundation

// R-hat, effective sample sizes and Monte Carlo standard errors as defined by Vehtari et al.
// (2021) and computed by R's posterior package and ArviZ 0.23.4 (Tests/Fixtures/diagnostics holds
// ArviZ's numbers). Input: draws of one scalar quantity as chains × draws, all chains of equal
// length.
//
// Edge cases follow R posterior, which is stricter than ArviZ:
// - `.rhat` / `.ess` give NaN when their input has a NaN or ±Inf, or is constant
//   (max − min < machine epsilon, posterior's `should_return_NA`): constant draws have no R-hat
//   and no ESS (ArviZ instead reports ESS = number of draws for constant input).
// - `.ess` needs at least 3 draws per (split) chain, `.rhat` at least 2 draws and 2 chains after
//   splitting; fewer gives NaN. A 4 × 3 run splits into 8 chains of one draw: everything NaN.
// - A single chain is split into two halves and gets an R-hat (ArviZ reports NaN there).
// - Rank-based statistics see ±Inf as extreme ranks (posterior's `rank`), so `rhat` and
//   `essBulk` stay defined for draws with infinities, while mean-based ones are NaN.

/// Machine epsilon, posterior's tolerance for "constant" draws.
private let constantTolerance = Double.ulpOfOne

/// posterior's `should_return_NA`: any NaN or infinity, or all values within machine epsilon.
func shouldReturnNaN(_ chains: [[Double]]) -> Bool {
    var minimum = Double.infinity
    var maximum = -Double.infinity
    for chain in chains {
        for value in chain {
            if !value.isFinite { return true }
            minimum = Swift.min(minimum, value)
            maximum = Swift.max(maximum, value)
        }
    }
    return !(abs(maximum - minimum) >= constantTolerance)
}

/// The larger of two diagnostics, NaN if either is NaN (R's `max`; Swift's `max` would pick by
/// argument order).
func maxPropagatingNaN(_ first: Double, _ second: Double) -> Double {
    (first.isNaN || second.isNaN) ? .nan : Swift.max(first, second)
}

func minPropagatingNaN(_ first: Double, _ second: Double) -> Double {
    (first.isNaN || second.isNaN) ? .nan : Swift.min(first, second)
}

/// Gelman–Rubin potential scale reduction of the chains exactly as given (split them first for
/// split-R-hat): R̂ = sqrt(((n − 1)/n · W + B/n) / W) with W the mean within-chain variance and
/// B/n the variance of chain means (BDA3 eq. 11.4; posterior's `.rhat`, ArviZ's `_rhat`).
public func potentialScaleReduction(_ chains: [[Double]]) -> Double {
    guard chains.count >= 2, let drawCount = chains.first?.count, drawCount >= 2,
          chains.allSatisfy({ $0.count == drawCount }), !shouldReturnNaN(chains) else { return .nan }
    let chainMeans = chains.map(mean)
    let withinChain = mean(chains.map(variance))
    let betweenChain = Double(drawCount) * variance(chainMeans)
    return ((betweenChain / withinChain + Double(drawCount) - 1) / Double(drawCount)).squareRoot()
}

/// Effective sample size of the chains exactly as given (split them first for split-ESS),
/// posterior's `.ess` / ArviZ's `_ess`:
///
/// - ρ̂_t = 1 − (W − mean over chains of γ̂_t) / var⁺, with W the mean within-chain variance and
///   var⁺ = (n−1)/n · W + var(chain means) (Vehtari et al. 2021, eq. 10);
/// - Geyer's initial positive sequence: sum the pairs P_k = ρ̂_{2k} + ρ̂_{2k+1} while positive;
///   the last even ρ̂ is kept when positive (the "improved" estimate that reduces variance for
///   antithetic chains);
/// - Geyer's initial monotone sequence: a pair larger than the one before it is replaced by it;
/// - τ̂ = −1 + 2 Σ_{t ≤ max_t} ρ̂_t + ρ̂_{max_t+1}, bounded below by 1/log10(m·n) so ESS never
///   exceeds m·n·log10(m·n); ESS = m·n/τ̂.
///
/// The loop bound t < n − 3 is ArviZ's (posterior stops one pair earlier; they differ only when
/// the autocorrelations stay positive to the very end of the chain).
public func effectiveSampleSize(_ chains: [[Double]]) -> Double {
    guard let drawCount = chains.first?.count, drawCount >= 3,
          chains.allSatisfy({ $0.count == drawCount }), !shouldReturnNaN(chains) else { return .nan }
    let chainCount = chains.count
    let n = Double(drawCount)
    let autocovariances = chains.map(autocovariance)
    func meanAutocovariance(_ lag: Int) -> Double {
        var sum = 0.0
        for chain in autocovariances { sum += chain[lag] }
        return sum / Double(chainCount)
    }
    let meanVariance = meanAutocovariance(0) * n / (n - 1)
    var variancePlus = meanVariance * (n - 1) / n
    if chainCount > 1 { variancePlus += variance(chains.map(mean)) }

    var rho = [Double](repeating: 0, count: drawCount)
    var rhoEven = 1.0
    var rhoOdd = 1 - (meanVariance - meanAutocovariance(1)) / variancePlus
    rho[0] = rhoEven
    rho[1] = rhoOdd

    // Geyer's initial positive sequence.
    var t = 1
    while t < drawCount - 3, rhoEven + rhoOdd > 0 {
        rhoEven = 1 - (meanVariance - meanAutocovariance(t + 1)) / variancePlus
        rhoOdd = 1 - (meanVariance - meanAutocovariance(t + 2)) / variancePlus
        if rhoEven + rhoOdd >= 0 {
            rho[t + 1] = rhoEven
            rho[t + 2] = rhoOdd
        }
        t += 2
    }
    let maxT = t - 2
    if rhoEven > 0 { rho[maxT + 1] = rhoEven }

    // Geyer's initial monotone sequence.
    t = 1
    while t <= maxT - 2 {
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t] {
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2
            rho[t + 2] = rho[t + 1]
        }
        t += 2
    }
    if rho.contains(where: \.isNaN) { return .nan }

    let total = Double(chainCount) * n
    var tau = -1.0
    // maxT is −1 when the chains are too short for one pair (fewer than 5 draws): the sum is
    // empty, as numpy's empty slice in ArviZ.
    for lag in 0..<(maxT + 1) { tau += 2 * rho[lag] }
    if maxT + 1 < drawCount { tau += rho[maxT + 1] }
    tau = Swift.max(tau, 1 / log10(total))
    return total / tau
}

/// Rank-normalized split-R-hat: the larger of the split-R-hat of the rank-normalized draws
/// (bulk) and of the rank-normalized folded draws (tails). Vehtari et al. (2021) §4.2;
/// posterior's `rhat`, ArviZ's `rhat(method="rank")`.
public func rankNormalizedRHat(_ chains: [[Double]]) -> Double {
    if chains.contains(where: { $0.contains(where: \.isNaN) }) { return .nan }
    let bulk = potentialScaleReduction(zScale(splitChains(chains)))
    let tail = potentialScaleReduction(zScale(splitChains(foldDraws(chains))))
    return maxPropagatingNaN(bulk, tail)
}

/// Classic split-R-hat on the raw draws (posterior's `rhat_basic(split = TRUE)`, ArviZ's
/// `rhat(method="split")`).
public func splitRHat(_ chains: [[Double]]) -> Double {
    potentialScaleReduction(splitChains(chains))
}

/// Bulk-ESS: split-ESS of the rank-normalized draws.
public func essBulk(_ chains: [[Double]]) -> Double {
    if chains.contains(where: { $0.contains(where: \.isNaN) }) { return .nan }
    return effectiveSampleSize(zScale(splitChains(chains)))
}

/// ESS of the p-quantile: split-ESS of the indicator 1{x ≤ q_p}.
public func essQuantile(_ chains: [[Double]], probability: Double) -> Double {
    if shouldReturnNaN(chains) { return .nan }
    return effectiveSampleSize(splitChains(quantileIndicator(chains, probability: probability)))
}

/// Tail-ESS: the smaller of the ESS of the 5% and the 95% quantile.
public func essTail(_ chains: [[Double]]) -> Double {
    minPropagatingNaN(essQuantile(chains, probability: 0.05), essQuantile(chains, probability: 0.95))
}

/// ESS of the mean: split-ESS of the raw draws.
public func essMean(_ chains: [[Double]]) -> Double {
    effectiveSampleSize(splitChains(chains))
}

/// ESS of the standard deviation as ArviZ 0.23.4 computes it (`_ess_sd`): split-ESS of the
/// squared deviations from the pooled mean, (x − x̄)². This is the ESS that `mcseSD` uses.
/// (Current R posterior uses |x − x̄| here instead; the fixture numbers are ArviZ's.)
public func essSD(_ chains: [[Double]]) -> Double {
    effectiveSampleSize(splitChains(squaredDeviations(chains)))
}

/// Monte Carlo standard error of the mean: sd(x) / sqrt(ESS of the mean).
public func mcseMean(_ chains: [[Double]]) -> Double {
    standardDeviation(chains.flatMap { $0 }) / essMean(chains).squareRoot()
}

/// Monte Carlo standard error of the standard deviation, ArviZ 0.23.4's `_mcse_sd` (identical to
/// R posterior's `mcse_sd`): with c = (x − x̄)², ESS = ESS of the mean of c,
/// Var[var̂] ≈ (mean(c²) − mean(c)²) / ESS (Kenney & Keeping 1951, p. 141, no normality assumed),
/// and the first-order Taylor step Var[sd̂] ≈ Var[var̂] / (4 mean(c)). MCSE = sqrt of that.
///
/// Not the older `sd · sqrt(e·(1 − 1/ESS)^(ESS−1) − 1)` normal-theory formula, and not
/// arviz-stats 0.8's variant, which takes the ESS of x instead of the ESS of c.
public func mcseSD(_ chains: [[Double]]) -> Double {
    let squared = squaredDeviations(chains)
    let ess = essMean(squared)
    let flat = squared.flatMap { $0 }
    let expectedVariance = mean(flat)
    let varianceOfVariance = (mean(flat.map { $0 * $0 }) - expectedVariance * expectedVariance) / ess
    return (varianceOfVariance / expectedVariance / 4).squareRoot()
}

/// (x − x̄)², x̄ the mean over all chains.
func squaredDeviations(_ chains: [[Double]]) -> [[Double]] {
    let center = mean(chains.flatMap { $0 })
    return chains.map { chain in chain.map { ($0 - center) * ($0 - center) } }
}
