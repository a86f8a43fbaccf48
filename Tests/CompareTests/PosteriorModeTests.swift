import Foundation
import Testing
import CNumerics
import Diagnostics
import TestSupport

/// `kernelDensityMode` on draws from distributions whose mode is known. Each check repeats the
/// estimate on R independent samples of n draws; the replicates' spread is the estimator's Monte
/// Carlo SD. Every estimate must be within 4 Monte Carlo SDs of the true mode, and the estimator's
/// bias (average of the replicates − truth, itself known to ± 3 SD/√R) must be below half a Monte
/// Carlo SD: a kernel estimate's smoothing bias is real on skewed densities (gamma(3): about
/// 0.3 MC SD at n = 4 000), but it must stay small against the Monte Carlo error it is reported with.
private func replicates(_ count: Int, seed: UInt, draws: Int, lowerBound: Double = -.infinity,
                        _ draw: (UnsafeMutablePointer<gsl_rng>) -> Double) -> [Double] {
    let rng = gsl_rng_alloc(mixmc_rng_mt19937())!
    defer { gsl_rng_free(rng) }
    gsl_rng_set(rng, seed)
    return (0..<count).map { _ in
        kernelDensityMode((0..<draws).map { _ in draw(rng) }, lowerBound: lowerBound)
    }
}

private func checkWithinMonteCarloError(_ estimates: [Double], truth: Double, _ what: String) {
    let average = MonteCarlo.mean(estimates)
    let sd = MonteCarlo.variance(estimates).squareRoot()
    let standardError = sd / Double(estimates.count).squareRoot()
    #expect(abs(average - truth) - 3 * standardError <= 0.5 * sd, "\(what): average \(average), truth \(truth), MC SD \(sd), SE \(standardError)")
    #expect(estimates.allSatisfy { abs($0 - truth) <= 4 * sd }, "\(what): an estimate beyond 4 MC SDs (\(sd))")
}

@Test func gammaModeWithinMonteCarloError() {
    // Gamma(shape 5, scale 2): mode (5 − 1) · 2 = 8; SD 4.5, skewed as posteriors of SDs are.
    let estimates = replicates(60, seed: 11, draws: 4000) { gsl_ran_gamma($0, 5, 2) }
    checkWithinMonteCarloError(estimates, truth: 8, "gamma(5, 2)")
}

@Test func gammaModeWithLowerBoundWithinMonteCarloError() {
    // The reflection at 0 must not move an interior mode: gamma(3, 1), mode 2.
    let estimates = replicates(60, seed: 12, draws: 4000, lowerBound: 0) { gsl_ran_gamma($0, 3, 1) }
    checkWithinMonteCarloError(estimates, truth: 2, "gamma(3, 1) reflected at 0")
}

@Test func halfNormalModeAtTheBound() {
    // |N(0, 1)| has its mode at 0, on the bound. Reflected at 0, n half-normal draws become a
    // symmetric sample of 2n; the estimates must be as close to 0 as the unbounded estimator's
    // Monte Carlo SD on N(0, 1) samples of that size.
    let estimates = replicates(40, seed: 13, draws: 2000, lowerBound: 0) { abs(gsl_ran_gaussian($0, 1)) }
    let normal = replicates(40, seed: 15, draws: 4000) { gsl_ran_gaussian($0, 1) }
    let sd = MonteCarlo.variance(normal).squareRoot()
    #expect(estimates.allSatisfy { $0 >= 0 && $0 <= 4 * sd }, "\(estimates.prefix(5)), MC SD \(sd)")
}

@Test func normalModeWithinMonteCarloError() {
    let estimates = replicates(60, seed: 14, draws: 2000) { 3 + gsl_ran_gaussian($0, 2) }
    checkWithinMonteCarloError(estimates, truth: 3, "N(3, 2²)")
}

@Test func edgeCases() {
    #expect(kernelDensityMode([]).isNaN)
    #expect(kernelDensityMode([1, .nan, 2]).isNaN)
    #expect(kernelDensityMode([2.5, 2.5, 2.5]) == 2.5)
}
