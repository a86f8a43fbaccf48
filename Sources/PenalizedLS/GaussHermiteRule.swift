import CNumerics

/// The K-point Gauss-Hermite rule for the standard normal density: nodes z_k and weights w_k with
/// Σ_k w_k f(z_k) ≈ E f(Z), Z ~ N(0, 1), exact for polynomials of degree up to 2K − 1 (lme4's
/// `GHrule(K)`). Computed by Golub and Welsch's method (docs/math.md, eq. 79): the nodes are the
/// eigenvalues of the Jacobi matrix of the probabilists' Hermite polynomials (zero diagonal,
/// off-diagonal √k), the weights the squared first components of its unit eigenvectors.
struct GaussHermiteRule: Sendable {
    let nodes: [Double]
    let weights: [Double]

    init(nodes count: Int) {
        precondition(count >= 1)
        var diagonal = [Double](repeating: 0, count: count)
        var offDiagonal = (1..<max(count, 2)).map { Double($0).squareRoot() }
        var vectors = [Double](repeating: 0, count: count * count)
        let info = LAPACKE_dstev(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int32(count), &diagonal, &offDiagonal, &vectors, Int32(count))
        precondition(info == 0, "dstev failed on the Hermite Jacobi matrix")
        var weights = (0..<count).map { vectors[$0 * count] * vectors[$0 * count] }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        // The rule is symmetric: the middle node of an odd rule is 0 exactly.
        var nodes = diagonal
        if count % 2 == 1 { nodes[count / 2] = 0 }
        self.nodes = nodes
        self.weights = weights
    }
}
