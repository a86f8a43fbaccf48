import Foundation
import CNumerics
import Linalg
import ModelSpec
import TestSupport

/// The models the posterior tests run on.
enum TestModel: String, CaseIterable, CustomStringConvertible, Sendable {
    case sleepstudyCorrelated = "sleepstudy (Days|Subject)"
    case sleepstudyIntercept = "sleepstudy (1|Subject)"
    case sleepstudyUncorrelated = "sleepstudy (Days||Subject)"
    case dyestuff = "Dyestuff (1|Batch)"
    case crossed = "sim_crossed subset (1|a) + (1|b)"
    case crossedVector = "sim_crossed subset (1+x|a) + (1+x|b)"

    var description: String { rawValue }

    func design() throws -> Design {
        switch self {
        case .sleepstudyCorrelated: return try sleepstudy("Reaction ~ Days + (Days | Subject)")
        case .sleepstudyIntercept: return try sleepstudy("Reaction ~ Days + (1 | Subject)")
        case .sleepstudyUncorrelated: return try sleepstudy("Reaction ~ Days + (Days || Subject)")
        case .dyestuff:
            let data = try DataTable.read(path: Fixtures.url("data/Dyestuff.csv").path, categorical: ["Batch"])
            return try Design.build(data: data, formula: Formula.parse("Yield ~ 1 + (1 | Batch)"))
        case .crossed: return try crossedSubset("y ~ 1 + x + (1 | a) + (1 | b)")
        case .crossedVector: return try crossedSubset("y ~ 1 + x + (1 + x | a) + (1 + x | b)")
        }
    }

    private func sleepstudy(_ formula: String) throws -> Design {
        let data = try DataTable.read(path: Fixtures.url("data/sleepstudy.csv").path, categorical: ["Subject"])
        return try Design.build(data: data, formula: Formula.parse(formula))
    }

    /// The rows of models/sim_crossed/data.csv with a < 12 and b < 9: a small crossed design
    /// (12 x 9 levels) whose dense block is the b term.
    private func crossedSubset(_ formula: String) throws -> Design {
        let data = try DataTable.read(path: Fixtures.repositoryRoot.appendingPathComponent("models/sim_crossed/data.csv").path,
                                      categorical: ["a", "b"])
        guard case .categorical(let a)? = data.column("a"), case .categorical(let b)? = data.column("b") else {
            fatalError("a and b are read as categorical")
        }
        let rows = (0..<data.rowCount).filter {
            (Int(a.levels[Int(a.codes[$0])]) ?? 99) < 12 && (Int(b.levels[Int(b.codes[$0])]) ?? 99) < 9
        }
        return try Design.build(data: data.subset(rows: rows), formula: Formula.parse(formula))
    }

    /// The data-scaled defaults with LKJ(2) on correlated terms, so the LKJ terms are not constant.
    func priors(for design: Design) -> PriorSet {
        var priors = PriorSet.defaults(for: design)
        priors.lkjEta = design.terms.map { $0.size > 1 ? 2 : 1 }
        return priors
    }
}

/// An InstEval-shaped design: the rows of models/insteval/data.csv whose instructor d is a
/// multiple of 8 and whose student s is at most 500 (1,600 rows; 452 students, 131 instructors,
/// 27 dept:service levels). Students are the first term, so the dense block holds 158 random rows
/// (more than one 64-row panel of `InverseBlocks`) reached by scattered student patterns.
func instEvalSubsetDesign(_ formula: String) throws -> Design {
    let data = try DataTable.read(path: Fixtures.repositoryRoot.appendingPathComponent("models/insteval/data.csv").path,
                                  categorical: ["s", "d", "dept", "service"])
    guard case .categorical(let s)? = data.column("s"), case .categorical(let d)? = data.column("d") else {
        fatalError("s and d are read as categorical")
    }
    let rows = (0..<data.rowCount).filter {
        (Int(d.levels[Int(d.codes[$0])]) ?? 1) % 8 == 0 && (Int(s.levels[Int(s.codes[$0])]) ?? 501) <= 500
    }
    return try Design.build(data: data.subset(rows: rows), formula: Formula.parse(formula))
}

/// A reproducible Gaussian stream for choosing test points (SplitMix64 + Box–Muller).
struct TestRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Double(z >> 11) + 0.5) / 9_007_199_254_740_992
    }

    mutating func normal() -> Double {
        (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
    }
}

/// offset + Xβ + Zb row by row from the data (b = chol(Σ_j) z from `parameters`): the Gaussian
/// mean, or a GLMM's linear predictor η.
func directLinearPredictor(_ design: Design, _ parameters: PosteriorParameters) -> [Double] {
    let b = parameters.randomEffects()
    return (0..<design.observationCount).map { i in
        var eta = design.offset[i]
        for c in 0..<design.fixedCount { eta += design.fixed.matrix[i, c] * parameters.beta[c] }
        for (j, term) in design.terms.enumerated() {
            let h = Int(term.groupCodes[i])
            for c in 0..<term.size { eta += term.modelRows[i, c] * b[j][h * term.size + c] }
        }
        return eta
    }
}

/// Least-squares β of y on X, from the data rows (normal equations through LAPACK).
func leastSquaresBeta(_ design: Design) -> [Double] {
    let p = design.fixedCount
    let n = design.observationCount
    var xtx = [Double](repeating: 0, count: p * p)
    var xty = [Double](repeating: 0, count: p)
    for i in 0..<n {
        let y = design.response[i] - design.offset[i]
        for a in 0..<p {
            xty[a] += design.fixed.matrix[i, a] * y
            for b in 0..<p { xtx[a + b * p] += design.fixed.matrix[i, a] * design.fixed.matrix[i, b] }
        }
    }
    _ = xtx.withUnsafeMutableBufferPointer { a in
        xty.withUnsafeMutableBufferPointer { b in
            LAPACKE_dposv(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(p), 1, a.baseAddress!, Int32(p), b.baseAddress!, Int32(p))
        }
    }
    return xty
}

/// A random unconstrained point of a layout near where the posterior has its mass: β near least
/// squares, σ and τ within a factor of a few of the response SD's share, correlations moderate,
/// z standard normal.
func randomPoint(_ layout: PosteriorLayout, design: Design, random: inout TestRandom) -> [Double] {
    var x = [Double](repeating: 0, count: layout.dimension)
    let beta = leastSquaresBeta(design)
    for (i, index) in layout.betaRange.enumerated() {
        x[index] = beta[i] * (1 + 0.05 * random.normal()) + 0.1 * random.normal()
    }
    let y = design.response
    let mean = y.reduce(0, +) / Double(y.count)
    let sd = (y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(y.count - 1)).squareRoot()
    if let index = layout.logSigmaIndex { x[index] = log(0.5 * sd) + 0.5 * random.normal() }
    for (j, term) in design.terms.enumerated() {
        for (c, index) in layout.logTauRanges[j].enumerated() {
            let columnScale = c == 0 && term.coefficientNames[c] == "(Intercept)" ? 1 : 0.2
            x[index] = log(0.5 * sd * columnScale) + 0.7 * random.normal()
        }
        for index in layout.correlationRanges[j] { x[index] = 0.6 * random.normal() }
        for index in layout.effectRanges[j] { x[index] = random.normal() }
    }
    return x
}

/// Central differences with Richardson extrapolation, the step chosen per coordinate from a
/// probe of the curvature: h_i = 0.01 / √κ_i (a hundredth of the local posterior SD), κ_i the
/// second difference at δ_i = 10⁻⁴ max(1, |x_i|), h_i at most 0.05 max(1, |x_i|). The
/// extrapolated difference (4 D(h/2) − D(h)) / 3 has error O(h⁴).
func finiteDifferenceGradient(_ f: ([Double]) -> Double, at x: [Double]) -> [Double] {
    let f0 = f(x)
    return x.indices.map { i in
        func at(_ step: Double) -> Double {
            var moved = x
            moved[i] += step
            return f(moved)
        }
        let delta = 1e-4 * max(1, abs(x[i]))
        let curvature = abs(at(delta) - 2 * f0 + at(-delta)) / (delta * delta)
        let h = min(0.05 * max(1, abs(x[i])), 0.01 / max(curvature, 1e-12).squareRoot())
        let coarse = (at(h) - at(-h)) / (2 * h)
        let fine = (at(h / 2) - at(-h / 2)) / h
        return (4 * fine - coarse) / 3
    }
}

/// Per coordinate |a − b| / max(|b|, 1): relative error, with an absolute floor of one unit of
/// log density per unit of the coordinate for components near zero.
func gradientErrors(_ analytic: [Double], _ numeric: [Double]) -> [Double] {
    zip(analytic, numeric).map { abs($0 - $1) / max(abs($1), 1) }
}

/// log N(y; μ, V) densely: LAPACK Cholesky of the n x n covariance, from the data rows.
func denseLogNormal(_ y: [Double], mean: [Double], covariance: [Double]) -> Double {
    let n = y.count
    var l = covariance
    let info = l.withUnsafeMutableBufferPointer {
        LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), $0.baseAddress!, Int32(n))
    }
    precondition(info == 0)
    var r = zip(y, mean).map { $0 - $1 }
    l.withUnsafeBufferPointer { a in
        r.withUnsafeMutableBufferPointer { b in
            cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, Int32(n), a.baseAddress!, Int32(n), b.baseAddress!, 1)
        }
    }
    var logDet = 0.0
    for i in 0..<n { logDet += log(l[i + i * n]) }
    return -0.5 * Double(n) * log(2 * Double.pi) - logDet - 0.5 * r.reduce(0) { $0 + $1 * $1 }
}

/// Z Σ Zᵀ + σ² I (plus X diag(s²) Xᵀ when `fixedVariances` is given), from the data rows.
func denseMarginalCovariance(_ design: Design, parameters: PosteriorParameters, fixedVariances: [Double]? = nil) -> [Double] {
    let n = design.observationCount
    var v = [Double](repeating: 0, count: n * n)
    let covariances = design.terms.indices.map { parameters.covariance(term: $0) }
    for a in 0..<n {
        for b in 0..<n {
            var s = a == b ? parameters.sigma! * parameters.sigma! : 0
            for (j, term) in design.terms.enumerated() where term.groupCodes[a] == term.groupCodes[b] {
                let k = term.size
                for r in 0..<k { for c in 0..<k { s += term.modelRows[a, r] * covariances[j][r + c * k] * term.modelRows[b, c] } }
            }
            if let fixedVariances {
                for c in 0..<design.fixedCount { s += design.fixed.matrix[a, c] * fixedVariances[c] * design.fixed.matrix[b, c] }
            }
            v[a + b * n] = s
        }
    }
    return v
}
