import Foundation
@testable import Samplers

/// log p(θ) = -½ Σ θᵢ², the standard normal in `dimension` dimensions.
struct StandardNormal: LogDensity {
    let dimension: Int

    func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                               gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        var sum = 0.0
        for i in 0..<dimension {
            sum += position[i] * position[i]
            gradient[i] = -position[i]
        }
        return -0.5 * sum
    }
}

/// A bivariate normal with unit variances and correlation ρ:
/// log p = -(x² - 2ρxy + y²) / (2(1 - ρ²)).
struct CorrelatedGaussian: LogDensity {
    let rho: Double
    var dimension: Int { 2 }

    func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                               gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        let x = position[0], y = position[1]
        let scale = 1 / (1 - rho * rho)
        gradient[0] = -scale * (x - rho * y)
        gradient[1] = -scale * (y - rho * x)
        return -0.5 * scale * (x * x - 2 * rho * x * y + y * y)
    }
}

/// Neal's funnel, centered: v ~ N(0, 3²), xᵢ | v ~ N(0, e^v) for i = 1…9; θ = (v, x₁…x₉).
/// log p = -v²/18 - Σ xᵢ² / (2 e^v) - 9 v / 2.
struct CenteredFunnel: LogDensity {
    var dimension: Int { 10 }

    func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                               gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        let v = position[0]
        let precision = exp(-v)
        var sumSquares = 0.0
        for i in 1..<10 {
            sumSquares += position[i] * position[i]
            gradient[i] = -position[i] * precision
        }
        gradient[0] = -v / 9 + 0.5 * sumSquares * precision - 4.5
        return -v * v / 18 - 0.5 * sumSquares * precision - 4.5 * v
    }
}

/// Neal's funnel, non-centered: θ = (v_raw, x_raw…) all standard normal, v = 3 v_raw,
/// xᵢ = e^{v/2} x_rawᵢ; the sampler sees a 10-dimensional standard normal.
typealias NonCenteredFunnel = StandardNormal

/// log p = -x²/2 inside (-1, 1) and NaN outside: a target whose failures must read as
/// divergences, not crashes.
struct NaNOutsideInterval: LogDensity {
    var dimension: Int { 1 }

    func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                               gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        let x = position[0]
        gradient[0] = -x
        return abs(x) < 1 ? -0.5 * x * x : .nan
    }
}

/// Keeps every delivered draw.
final class DrawCollector: ChainSink {
    var draws: [ChainDraw] = []
    var adaptation: AdaptationResult?

    func adaptationFinished(_ adaptation: AdaptationResult) { self.adaptation = adaptation }
    func receive(_ draw: ChainDraw) { draws.append(draw) }

    func coordinate(_ i: Int) -> [Double] { draws.map { $0.position[i] } }
}
