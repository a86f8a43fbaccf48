/// Arithmetic mean; NaN for no values.
public func mean(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    return values.reduce(0, +) / Double(values.count)
}

/// Sample variance with the n − 1 denominator (R's `var`, numpy's `ddof=1`); NaN below 2 values.
public func variance(_ values: [Double]) -> Double {
    guard values.count > 1 else { return .nan }
    let center = mean(values)
    return values.reduce(0) { $0 + ($1 - center) * ($1 - center) } / Double(values.count - 1)
}

/// Sample standard deviation, n − 1 denominator.
public func standardDeviation(_ values: [Double]) -> Double {
    variance(values).squareRoot()
}

/// The p-quantile by linear interpolation between order statistics: R's type 7, numpy's
/// default. With n sorted values x₍₁₎…x₍ₙ₎, h = (n − 1)p and the result is
/// x₍⌊h⌋+1₎ + (h − ⌊h⌋)(x₍⌊h⌋+2₎ − x₍⌊h⌋+1₎). NaN when any value is NaN (posterior's `quantile2`).
public func quantile(_ values: [Double], probability: Double) -> Double {
    guard !values.isEmpty, !values.contains(where: \.isNaN) else { return .nan }
    return quantile(sorted: values.sorted(), probability: probability)
}

/// Type-7 quantile of values already sorted ascending.
public func quantile(sorted: [Double], probability: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let position = Double(sorted.count - 1) * probability
    let lower = Int(position.rounded(.down))
    let fraction = position - Double(lower)
    if lower + 1 >= sorted.count { return sorted[sorted.count - 1] }
    if fraction == 0 { return sorted[lower] }
    // numpy's form (a + (b - a)·f) and R's ((1 - f)·a + f·b) differ in the last bit at most.
    return sorted[lower] + fraction * (sorted[lower + 1] - sorted[lower])
}
