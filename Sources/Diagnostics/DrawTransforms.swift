import CNumerics

// Small building blocks of the convergence diagnostics of Vehtari, Gelman, Simpson, Carpenter &
// Bürkner (2021), "Rank-normalization, folding, and localization: an improved R-hat for assessing
// convergence of MCMC", Bayesian Analysis 16(2). Named after R posterior's helpers
// (`.split_chains`, `z_scale`, `fold_draws`, `autocovariance`). Draws are `[[Double]]`,
// chains × draws.

/// Splits every chain into its first and second half, giving twice as many chains.
///
/// With an odd number of draws the middle draw is dropped (posterior: `x[1:floor(n/2)]` and
/// `x[ceiling(n/2 + 1):n]`; ArviZ: `[:half]` and `[-half:]`). A chain of one draw is returned
/// unsplit, as posterior does.
public func splitChains(_ chains: [[Double]]) -> [[Double]] {
    guard let drawCount = chains.first?.count, drawCount > 1 else { return chains }
    let half = drawCount / 2
    return chains.map { Array($0.prefix(half)) } + chains.map { Array($0.suffix(half)) }
}

/// Average ranks (1-based) of all draws pooled over chains; ties share the mean of their ranks
/// (R's `rank(ties.method = "average")`, scipy's `rankdata(method="average")`). NaN draws get
/// NaN and are left out of the ranking; ±Inf rank as the extremes.
public func averageRanks(_ chains: [[Double]]) -> [[Double]] {
    let flat = chains.flatMap { $0 }
    let order = flat.indices.filter { !flat[$0].isNaN }.sorted { flat[$0] < flat[$1] }
    var ranks = [Double](repeating: .nan, count: flat.count)
    var start = 0
    while start < order.count {
        var end = start
        while end + 1 < order.count, flat[order[end + 1]] == flat[order[start]] { end += 1 }
        let rank = Double(start + end + 2) / 2
        for position in start...end { ranks[order[position]] = rank }
        start = end + 1
    }
    return reshape(ranks, like: chains)
}

/// Rank-normalizes the pooled draws: rank r of S values ↦ Φ⁻¹((r − 3/8) / (S + 1/4)), Blom's
/// (1958) offset c = 3/8 as in posterior's `z_scale` and ArviZ's `_z_scale`.
public func zScale(_ chains: [[Double]]) -> [[Double]] {
    let count = Double(chains.reduce(0) { $0 + $1.count })
    let offset = 3.0 / 8.0
    return averageRanks(chains).map { chain in
        chain.map { rank in rank.isNaN ? .nan : gsl_cdf_ugaussian_Pinv((rank - offset) / (count - 2 * offset + 1)) }
    }
}

/// Folds draws around their pooled median, |x − median(x)|, so that R-hat of the folded draws
/// sees differences in scale (tails) rather than location.
public func foldDraws(_ chains: [[Double]]) -> [[Double]] {
    let center = quantile(chains.flatMap { $0 }, probability: 0.5)
    return chains.map { chain in chain.map { abs($0 - center) } }
}

/// Indicator draws 1{x ≤ q_p}, q_p the pooled type-7 quantile: the quantity whose ESS is the
/// ESS of the p-quantile.
public func quantileIndicator(_ chains: [[Double]], probability: Double) -> [[Double]] {
    let threshold = quantile(chains.flatMap { $0 }, probability: probability)
    return chains.map { chain in chain.map { $0 <= threshold ? 1 : 0 } }
}

/// Autocovariances of one sequence at lags 0…n−1, the "biased" estimate
/// γ̂(t) = (1/n) Σ_{i<n−t} (x_i − x̄)(x_{i+t} − x̄) that Geyer (1992) recommends, computed by FFT
/// (GSL's mixed-radix real FFT) with zero padding to 2·m, m ≥ n the next 2-3-5-smooth size.
public func autocovariance(_ sequence: [Double]) -> [Double] {
    let count = sequence.count
    guard count > 0 else { return [] }
    let mean = sequence.reduce(0, +) / Double(count)
    let paddedCount = 2 * nextSmoothSize(count)
    var work = [Double](repeating: 0, count: paddedCount)
    for index in 0..<count { work[index] = sequence[index] - mean }

    let realTable = gsl_fft_real_wavetable_alloc(paddedCount)
    let inverseTable = gsl_fft_halfcomplex_wavetable_alloc(paddedCount)
    let workspace = gsl_fft_real_workspace_alloc(paddedCount)
    defer {
        gsl_fft_real_wavetable_free(realTable)
        gsl_fft_halfcomplex_wavetable_free(inverseTable)
        gsl_fft_real_workspace_free(workspace)
    }
    work.withUnsafeMutableBufferPointer { buffer in
        let data = buffer.baseAddress!
        gsl_fft_real_transform(data, 1, paddedCount, realTable, workspace)
        // Half-complex layout: data[0] is the zero frequency, (data[2k-1], data[2k]) the real and
        // imaginary parts of frequency k, and data[n-1] the Nyquist term when n is even.
        // Replace every coefficient by its squared modulus (the periodogram).
        data[0] = data[0] * data[0]
        var frequency = 1
        while 2 * frequency < paddedCount {
            let real = data[2 * frequency - 1]
            let imaginary = data[2 * frequency]
            data[2 * frequency - 1] = real * real + imaginary * imaginary
            data[2 * frequency] = 0
            frequency += 1
        }
        if paddedCount % 2 == 0 { data[paddedCount - 1] = data[paddedCount - 1] * data[paddedCount - 1] }
        // The inverse includes the 1/n of the discrete Fourier transform.
        gsl_fft_halfcomplex_inverse(data, 1, paddedCount, inverseTable, workspace)
    }
    return (0..<count).map { work[$0] / Double(count) }
}

/// Smallest m ≥ n whose only prime factors are 2, 3 and 5 (posterior's `fft_next_good_size`).
func nextSmoothSize(_ count: Int) -> Int {
    if count <= 2 { return 2 }
    var candidate = count
    while true {
        var remainder = candidate
        for factor in [2, 3, 5] { while remainder % factor == 0 { remainder /= factor } }
        if remainder == 1 { return candidate }
        candidate += 1
    }
}

/// Puts a flat array back into the chain shape of `chains`.
func reshape(_ flat: [Double], like chains: [[Double]]) -> [[Double]] {
    var result: [[Double]] = []
    result.reserveCapacity(chains.count)
    var offset = 0
    for chain in chains {
        result.append(Array(flat[offset..<(offset + chain.count)]))
        offset += chain.count
    }
    return result
}
