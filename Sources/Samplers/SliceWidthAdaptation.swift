import Foundation

/// Per-coordinate initial widths for slice steps, tuned during warmup from the spread of the
/// coordinates' own draws: over windows of 50, 100, 200, … sweeps, each window's end sets
/// width_i = `multiple` SD(x_i) over that window (2.5 for stepping out, wider for a slice step
/// that does not step out). Slice sampling is exact for any fixed widths (Neal
/// 2003); a width near the slice's size saves the shrinkage evaluations that a fixed width of 1
/// spends on a narrow conditional (log σ on 20,000 rows has an SD near 0.005). The sampler
/// stops adapting when warmup ends.
struct SliceWidthAdaptation {
    private(set) var widths: [Double]
    private var count = 0
    private var windowLength = 50
    private var mean: [Double]
    private var squares: [Double]
    private let multiple: Double

    init(widths: [Double], multiple: Double = 2.5) {
        self.widths = widths
        self.multiple = multiple
        mean = Array(repeating: 0, count: widths.count)
        squares = Array(repeating: 0, count: widths.count)
    }

    /// Records one draw of the coordinates (Welford's running variance).
    mutating func observe(_ x: [Double]) {
        count += 1
        for i in x.indices {
            let delta = x[i] - mean[i]
            mean[i] += delta / Double(count)
            squares[i] += delta * (x[i] - mean[i])
        }
        guard count == windowLength else { return }
        for i in widths.indices {
            let sd = (squares[i] / Double(count - 1)).squareRoot()
            widths[i] = min(max(multiple * sd, 1e-4), 10)
        }
        count = 0
        windowLength *= 2
        for i in mean.indices { mean[i] = 0; squares[i] = 0 }
    }
}
