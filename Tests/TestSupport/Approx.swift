import Foundation

/// Relative error |a - b| / |b|, falling back to the absolute error when `b` is zero.
public func relativeError(_ actual: Double, _ expected: Double) -> Double {
    let diff = abs(actual - expected)
    return expected == 0 ? diff : diff / abs(expected)
}

/// True when `actual` is within `relative` of `expected`, or within `absolute` of it
/// (the absolute floor serves values that should be zero or nearly so).
public func isClose(_ actual: Double, _ expected: Double, relative: Double, absolute: Double = 0) -> Bool {
    if actual.isNaN && expected.isNaN { return true }
    if actual == expected { return true }
    return abs(actual - expected) <= absolute || relativeError(actual, expected) <= relative
}
