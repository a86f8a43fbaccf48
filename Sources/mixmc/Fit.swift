import ArgumentParser
import Foundation
import ModelSpec
import PenalizedLS

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a linear mixed model by REML (default) or ML, as lme4's lmer does.",
        discussion: """
            Prints a summary laid out like lme4's summary(lmer(...)). With --json, prints one JSON \
            object: method, objective (REML criterion or ML deviance), loglik, aic, bic, theta \
            (lme4 order), theta_names, sigma, fixed [{name, estimate, se}], varcorr [{group, name, \
            sd} | {group, name, name2, corr} | {group: "Residual", sd}], nobs, rows_dropped, \
            ngroups, ranef {group: [{level, <coef>...}]}, ranef_condsd (same shape: conditional \
            SDs), singular, converged, convergence_messages, optimizer_status, gradient, \
            optimizer_evaluations, seconds.
            """)

    @OptionGroup var model: ModelOptions

    @Flag(help: "Maximum likelihood instead of REML.")
    var ml = false

    @Flag(help: "Print one JSON object instead of the text summary.")
    var json = false

    @Option(help: "Binomial and Poisson models: Gauss-Hermite nodes per random effect, as lme4's nAGQ: 1 = Laplace (default), 0 = Laplace with β inside PIRLS, 2-25 = adaptive quadrature (one scalar random-effects term only).")
    var nagq: Int?

    @Option(help: "Binomial and Poisson models: 'laplace' (default; see --nagq) or 'pql' (penalized quasi-likelihood, as MASS::glmmPQL).")
    var method: String?

    @Option(help: "Binomial and Poisson models: standard errors of the fixed effects from the finite-difference 'hessian' of the deviance over (θ, β) (default, lme4's summary) or from PIRLS's 'rx' factor (lme4's vcov(use.hessian = FALSE); faster only where the default cannot take Newton steps: probit, cloglog, vector-valued terms).")
    var standardErrors: String?

    mutating func run() throws {
        try runReportingErrors {
            let design = try model.loadDesign()
            if !design.family.isGaussian {
                try fitGeneralized(design)
                return
            }
            if nagq != nil || method != nil || standardErrors != nil {
                throw ValidationError("--nagq, --method and --standard-errors apply to binomial and Poisson models (--family binomial|poisson); a Gaussian model is fitted by REML or ML (--ml)")
            }
            if let term = design.terms.first(where: { $0.thetaCount > 100 }) {
                printError("note: the term for \(term.groupingName) has \(term.size) coefficients per group, \(term.thetaCount) covariance parameters (θ) to optimize: expect minutes to hours (progress every 10 s); uncorrelated effects, (… || \(term.groupingName)), have \(term.size)")
            }
            let fit = try MixedModelFit.fit(design, method: ml ? .ml : .reml, options: Self.optimizerOptions(design, ml: ml))
            if json {
                let data = try JSONSerialization.data(withJSONObject: fit.jsonObject(), options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                if design.rowsDropped > 0 {
                    printError("note: \(design.rowsDropped) row\(design.rowsDropped == 1 ? "" : "s") with missing values in the model's columns dropped")
                }
                print(fit.summaryText(formula: design.formula.printed, dataName: Self.dataName(design, options: model)), terminator: "")
            }
        }
    }

    /// The optimizer's options with a progress line on stderr every 10 s (issue 12, item 6: a
    /// term of 40 coefficients, 820 θ, ran for minutes without a sign of life).
    static func optimizerOptions(_ design: Design, ml: Bool) -> BoundedOptimizer.Options {
        var options = BoundedOptimizer.Options()
        let start = ContinuousClock.now
        let criterion = ml ? "deviance" : "REML criterion"
        let thetaCount = design.thetaCount
        options.progress = { evaluations, best in
            let seconds = (ContinuousClock.now - start).components.seconds
            printError("fitting: \(evaluations) evaluations of the \(criterion) over \(thetaCount) θ in \(seconds) s, lowest so far \(String(format: "%.4f", best))")
        }
        return options
    }

    /// `Data:` as given, as lme4 prints the `data` argument: the `--data` path, else the model
    /// directory.
    static func dataName(_ design: Design, options: ModelOptions) -> String {
        options.data ?? options.model ?? design.dataSource
    }

    /// Laplace, adaptive quadrature or PQL for a binomial or Poisson model.
    private func fitGeneralized(_ design: Design) throws {
        if ml { throw ValidationError("--ml applies to Gaussian models; binomial and Poisson models are always fitted by maximum likelihood (Laplace or --nagq K) or by --method pql") }
        let chosen: GeneralizedMixedModelFit.Method
        switch (method?.lowercased(), nagq) {
        case (nil, nil), ("laplace", nil), ("laplace", 1?), (nil, 1?): chosen = .laplace
        case (nil, 0?), ("laplace", 0?): chosen = .fastLaplace
        case (nil, let nodes?), ("laplace", let nodes?): chosen = .adaptiveQuadrature(nodes: nodes)
        case ("pql", nil): chosen = .penalizedQuasiLikelihood
        case ("pql", _?): throw ValidationError("--nagq applies to the Laplace and quadrature fits, not to --method pql")
        case (let other?, _): throw ValidationError("unknown --method '\(other)'; the methods are laplace and pql")
        }
        guard let errors = GeneralizedMixedModelFit.StandardErrors(rawValue: (standardErrors ?? "hessian").lowercased()) else {
            throw ValidationError("--standard-errors takes hessian or rx; got '\(standardErrors ?? "")'")
        }
        let fit = try GeneralizedMixedModelFit.fit(design, method: chosen, standardErrors: errors)
        if json {
            let data = try JSONSerialization.data(withJSONObject: fit.jsonObject(), options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if design.rowsDropped > 0 {
            printError("note: \(design.rowsDropped) row\(design.rowsDropped == 1 ? "" : "s") with missing values in the model's columns dropped")
        }
        print(fit.summaryText(formula: design.formula.printed, dataName: Self.dataName(design, options: model)), terminator: "")
    }
}
