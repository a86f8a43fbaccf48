import ModelSpec

extension GibbsPriors {
    /// The Gibbs sampler's priors from a resolved priors file (docs/priors.md): β_i ~
    /// Normal(`fixed[i].mean`, `fixed[i].sd`), σ ~ half-Cauchy(0, `sigmaScale`), τ_jk ~
    /// half-Cauchy(0, `tauScales[j][k]`), R_j ~ LKJ(`lkjEta[j]`). Both follow the design's order,
    /// so the mapping is one to one.
    public init(_ priors: PriorSet) {
        self.init(fixedMeans: priors.fixed.map(\.mean), fixedSDs: priors.fixed.map(\.sd),
                  sigmaScale: priors.sigmaScale, tauScales: priors.tauScales, lkjEta: priors.lkjEta)
    }
}
