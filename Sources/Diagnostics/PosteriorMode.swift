import Foundation

/// The mode of a sample of draws, as the maximum of a Gaussian kernel density estimate.
///
/// Definition: f̂(x) = Σ_i K_h(x − x_i) with a Gaussian kernel and Silverman's rule-of-thumb
/// bandwidth h = 0.9 · min(s, IQR/1.34) · n^(−1/5) (R's `bw.nrd0`). When the parameter has a
/// support bound (σ and SDs ≥ 0, correlations in [−1, 1]) the draws are reflected across it, so
/// the estimate does not leak mass past the bound and a density piled up at 0 (an SD whose
/// posterior has its mode at 0, Dyestuff2) keeps its mode at 0. The maximum is located on a grid
/// of 512 points over the range of the draws and refined by mean-shift iterations (each a
/// kernel-weighted mean, which increases f̂ monotonically; Comaniciu & Meer 2002), to 1e-10 of h.
///
/// Why a KDE and not the half-sample mode (Bickel & Frühwirth 2006): both need no model and are
/// consistent, but at the sample sizes of a run (1 000 to 20 000 draws) the KDE's Monte Carlo SD
/// is 25–40% smaller (gamma(5) draws, n = 4 000: 0.26 against 0.37, 100 replicates each), and
/// the smoothing bias it adds is a small fraction of that (0.03 at n = 4 000). Draws are
/// treated as independent; autocorrelation enlarges the Monte Carlo error, not the estimand.
///
/// Edge cases: no draws, or any non-finite draw, gives NaN; constant draws give their value.
public func kernelDensityMode(_ draws: [Double], lowerBound: Double = -.infinity, upperBound: Double = .infinity) -> Double {
    guard !draws.isEmpty, draws.allSatisfy(\.isFinite) else { return .nan }
    let sorted = draws.sorted()
    let n = sorted.count
    if sorted[0] == sorted[n - 1] { return sorted[0] }
    let sd = standardDeviation(sorted)
    let iqr = quantile(sorted: sorted, probability: 0.75) - quantile(sorted: sorted, probability: 0.25)
    var spread = min(sd, iqr / 1.34)
    if !(spread > 0) { spread = sd > 0 ? sd : abs(sorted[0]) }
    let bandwidth = 0.9 * spread * pow(Double(n), -0.2)

    // Reflected copies of the draws within a few bandwidths of a bound.
    var points = sorted
    if lowerBound.isFinite {
        for x in sorted where x - lowerBound < 8 * bandwidth { points.append(2 * lowerBound - x) }
    }
    if upperBound.isFinite {
        for x in sorted where upperBound - x < 8 * bandwidth { points.append(2 * upperBound - x) }
    }
    points.sort()

    /// Σ_i exp(−(x − x_i)²/(2h²)) and Σ_i x_i exp(…) over the points within 8h of x.
    func weights(at x: Double) -> (density: Double, weightedSum: Double) {
        let low = lowerIndex(points, x - 8 * bandwidth)
        var density = 0.0, weightedSum = 0.0
        var i = low
        while i < points.count, points[i] <= x + 8 * bandwidth {
            let u = (x - points[i]) / bandwidth
            let w = exp(-0.5 * u * u)
            density += w
            weightedSum += w * points[i]
            i += 1
        }
        return (density, weightedSum)
    }

    let low = max(sorted[0], lowerBound), high = min(sorted[n - 1], upperBound)
    let gridSize = 512
    var best = low
    var bestDensity = -Double.infinity
    for g in 0..<gridSize {
        let x = low + (high - low) * Double(g) / Double(gridSize - 1)
        let density = weights(at: x).density
        if density > bestDensity { bestDensity = density; best = x }
    }
    var x = best
    for _ in 0..<1000 {
        let (density, weightedSum) = weights(at: x)
        guard density > 0 else { break }
        let next = min(max(weightedSum / density, lowerBound), upperBound)
        let step = abs(next - x)
        x = next
        if step <= 1e-10 * bandwidth { break }
    }
    // Toward a mode on a bound, mean shift converges only geometrically (Dyestuff2's SD stopped
    // at 4e-11); a point within 1e-6 bandwidths of the bound is the bound.
    if abs(x - lowerBound) <= 1e-6 * bandwidth { return lowerBound }
    if abs(upperBound - x) <= 1e-6 * bandwidth { return upperBound }
    return x
}

/// The first index whose value is ≥ `value` in ascending `sorted`.
private func lowerIndex(_ sorted: [Double], _ value: Double) -> Int {
    var low = 0, high = sorted.count
    while low < high {
        let middle = (low + high) / 2
        if sorted[middle] < value { low = middle + 1 } else { high = middle }
    }
    return low
}
