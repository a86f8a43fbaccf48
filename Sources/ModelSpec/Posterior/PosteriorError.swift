/// Why a log-posterior could not be built.
public enum PosteriorError: Error, Equatable, CustomStringConvertible {
    /// The priors' shapes or values do not fit the design.
    case priorsDoNotMatch(String)
    /// The collapsed or marginal form asked of a model whose response is not Gaussian: only a
    /// Gaussian y | b lets b (and β) integrate out in closed form.
    case integratedFormNeedsGaussian(form: PosteriorForm, family: Family)

    public var description: String {
        switch self {
        case .priorsDoNotMatch(let message): return "priors do not match the model: \(message)"
        case let .integratedFormNeedsGaussian(form, family):
            let integrated = form == .marginal ? "the random effects and the fixed effects" : "the random effects"
            return "the \(form.rawValue) log-posterior integrates \(integrated) out in closed form, which needs a Gaussian response; "
                + "this model is \(family): sample the full log-posterior (--target full), where the random effects are sampled with the rest"
        }
    }
}

extension PriorSet {
    /// Checks the shapes against `design` and that every scale is positive. A β prior SD of +∞
    /// is allowed and means a flat prior on that coefficient.
    func validateForPosterior(design: Design) throws(PosteriorError) {
        guard fixed.count == design.fixedCount else {
            throw .priorsDoNotMatch("\(design.fixedCount) fixed effects (\(design.fixed.columnNames.joined(separator: ", "))), but \(fixed.count) normal priors")
        }
        for (name, prior) in zip(design.fixed.columnNames, fixed) where !(prior.mean.isFinite && prior.sd > 0) {
            throw .priorsDoNotMatch("the prior of \(name) needs a finite mean and a positive SD, got mean \(prior.mean), sd \(prior.sd)")
        }
        guard !design.family.hasDispersion || (sigmaScale > 0 && sigmaScale.isFinite) else {
            throw .priorsDoNotMatch("the half-Cauchy scale of sigma must be positive and finite, got \(sigmaScale)")
        }
        guard tauScales.count == design.terms.count, lkjEta.count == design.terms.count else {
            throw .priorsDoNotMatch("\(design.terms.count) random-effects terms, but \(tauScales.count) lists of SD scales and \(lkjEta.count) LKJ shapes")
        }
        for (j, term) in design.terms.enumerated() {
            guard tauScales[j].count == term.size else {
                throw .priorsDoNotMatch("term (\(term.coefficientNames.joined(separator: " + ")) | \(term.groupingName)) has \(term.size) coefficients, but \(tauScales[j].count) SD scales")
            }
            guard tauScales[j].allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw .priorsDoNotMatch("term \(term.groupingName): half-Cauchy scales must be positive and finite")
            }
            guard term.size == 1 || (lkjEta[j] > 0 && lkjEta[j].isFinite) else {
                throw .priorsDoNotMatch("term \(term.groupingName): the LKJ shape must be positive and finite, got \(lkjEta[j])")
            }
        }
    }
}
