import Foundation
import ModelSpec
import Samplers
import Testing
import TestSupport

/// The binomial and Poisson models the full log-posterior is checked on: every family and link.
enum FamilyTestModel: String, CaseIterable, CustomStringConvertible, Sendable {
    case binaryLogitSlope = "sim_binomial_slope y ~ x + (1 + x | g), binomial logit"
    case binaryProbitSlope = "sim_binomial_slope y ~ x + (1 + x | g), binomial probit"
    case binaryCloglogSlope = "sim_binomial_slope y ~ x + (1 + x | g), binomial cloglog"
    case cbppLogit = "cbpp cbind(incidence, size - incidence) ~ period + (1 | herd), binomial logit"
    case cbppProbit = "cbpp cbind(…) ~ period + (1 | herd), binomial probit"
    case cbppCloglog = "cbpp cbind(…) ~ period + (1 | herd), binomial cloglog"
    case poissonOffset = "sim_poisson_offset y ~ x + offset(log_t) + (1 | g), Poisson log"
    case grouseticks = "grouseticks TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), Poisson log"

    var description: String { rawValue }

    var family: Family {
        switch self {
        case .binaryLogitSlope, .cbppLogit: return try! Family(.binomial, link: .logit)
        case .binaryProbitSlope, .cbppProbit: return try! Family(.binomial, link: .probit)
        case .binaryCloglogSlope, .cbppCloglog: return try! Family(.binomial, link: .cloglog)
        case .poissonOffset, .grouseticks: return try! Family(.poisson)
        }
    }

    func design() throws -> Design {
        let (file, formula): (String, String)
        switch self {
        case .binaryLogitSlope, .binaryProbitSlope, .binaryCloglogSlope: (file, formula) = ("sim_binomial_slope.csv", "y ~ x + (1 + x | g)")
        case .cbppLogit, .cbppProbit, .cbppCloglog:
            (file, formula) = ("cbpp_labels.csv", "cbind(incidence, size - incidence) ~ period + (1 | herd)")
        case .poissonOffset: (file, formula) = ("sim_poisson_offset.csv", "y ~ x + offset(log_t) + (1 | g)")
        case .grouseticks: (file, formula) = ("grouseticks_labels.csv", "TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)")
        }
        let parsed = try Formula.parse(formula)
        let data = try DataTable.read(path: Fixtures.url("data/\(file)").path, categorical: Design.variables(of: parsed).grouping)
        return try Design.build(data: data, formula: parsed, family: family)
    }

    /// β ~ N(0, 5²) (the intercept N(0, 10²)), every SD ~ half-Cauchy(0, 2), LKJ(2).
    func priors(for design: Design) -> PriorSet {
        PriorSet(fixed: design.fixed.columnNames.map { NormalPrior(mean: 0, sd: $0 == "(Intercept)" ? 10 : 5) },
                 sigmaScale: 1, tauScales: design.terms.map { [Double](repeating: 2, count: $0.size) },
                 lkjEta: design.terms.map { $0.size > 1 ? 2 : 1 })
    }
}

/// A random point of a binomial or Poisson model's full layout where the likelihood is moderate:
/// the intercept near g(ȳ), other β within ±0.3, SDs around 0.5, moderate correlations, z ~ N(0, 1).
func familyRandomPoint(_ layout: PosteriorLayout, design: Design, random: inout TestRandom) -> [Double] {
    var x = [Double](repeating: 0, count: layout.dimension)
    let mean = design.response.reduce(0, +) / Double(design.observationCount)
    let level = design.family.linkFunction(min(max(mean, 0.05), design.family.kind == .binomial ? 0.95 : .infinity))
    for (i, index) in layout.betaRange.enumerated() {
        x[index] = (design.fixed.columnNames[i] == "(Intercept)" ? level : 0) + 0.3 * random.normal()
    }
    for range in layout.logTauRanges { for index in range { x[index] = log(0.5) + 0.5 * random.normal() } }
    for range in layout.correlationRanges { for index in range { x[index] = 0.6 * random.normal() } }
    for range in layout.effectRanges { for index in range { x[index] = random.normal() } }
    return x
}

@Suite struct FamilyPosteriorTests {
    /// Analytic gradient against Richardson-extrapolated central differences at three random
    /// points per model, every coordinate within 10⁻⁶ relative (`gradientErrors`).
    @Test(arguments: FamilyTestModel.allCases)
    func gradientMatchesFiniteDifferences(model: FamilyTestModel) throws {
        let design = try model.design()
        var target = try FullLogPosterior(design: design, priors: model.priors(for: design))
        var random = TestRandom(seed: UInt64(model.rawValue.count * 17 + 3))
        var worst = 0.0
        for _ in 0..<3 {
            let x = familyRandomPoint(target.layout, design: design, random: &random)
            worst = max(worst, try GradientTests.check(&target, at: x, names: target.layout.names))
        }
        print("gradient \(model): worst relative error \(worst) over \(target.dimension) coordinates")
    }

    /// The parts of the value against direct sums over the rows: the likelihood as
    /// −½ Σ `minusTwoLogLikelihood` at μ = g⁻¹(η) with η formed row by row (eq. 71), the priors
    /// and Jacobian term by term.
    @Test(arguments: FamilyTestModel.allCases)
    func componentsMatchDirectSums(model: FamilyTestModel) throws {
        let design = try model.design()
        let priors = model.priors(for: design)
        var target = try FullLogPosterior(design: design, priors: priors)
        let layout = target.layout
        var random = TestRandom(seed: 99)
        let x = familyRandomPoint(layout, design: design, random: &random)
        let parameters = layout.constrain(x)
        #expect(parameters.sigma == nil)
        let weights = design.priorWeights ?? [Double](repeating: 1, count: design.observationCount)
        let eta = directLinearPredictor(design, parameters)
        var direct = 0.0
        for i in 0..<design.observationCount {
            direct += -0.5 * design.family.minusTwoLogLikelihood(y: design.response[i], mu: design.family.mean(eta[i]), weight: weights[i])
        }
        let components = target.components(at: x)
        #expect(abs(components.logLikelihood - direct) < 1e-9 * abs(direct), "likelihood \(components.logLikelihood) vs direct \(direct)")

        var prior = 0.0
        for (c, fixedPrior) in priors.fixed.enumerated() {
            let z = (parameters.beta[c] - fixedPrior.mean) / fixedPrior.sd
            prior += -0.5 * log(2 * Double.pi * fixedPrior.sd * fixedPrior.sd) - 0.5 * z * z
        }
        var jacobian = 0.0
        for (j, term) in design.terms.enumerated() {
            for c in 0..<term.size {
                let tau = parameters.tau[j][c], scale = priors.tauScales[j][c]
                prior += log(2 / (Double.pi * scale * (1 + (tau / scale) * (tau / scale))))
                jacobian += log(tau)
            }
            if term.size > 1 {
                prior += PriorSet.logLKJCorrelationCholesky(parameters.correlationFactors[j], order: term.size, eta: priors.lkjEta[j])
                jacobian += CorrelationCholeskyTransform(Array(x[layout.correlationRanges[j]]), order: term.size).logJacobian
            }
            for z in parameters.standardizedEffects[j] { prior += -0.5 * log(2 * Double.pi) - 0.5 * z * z }
        }
        #expect(abs(components.logPrior - prior) < 1e-9 * max(1, abs(prior)), "prior \(components.logPrior) vs \(prior)")
        #expect(abs(components.logJacobian - jacobian) < 1e-9 * max(1, abs(jacobian)), "Jacobian \(components.logJacobian) vs \(jacobian)")
    }

    /// Every binomial link's per-row kernel: constant + kernel = −½ `minusTwoLogLikelihood` where
    /// R's clamps do not bite, the derivative against central differences in η over the tails
    /// too (|η| up to 40), and the lower tails against their asymptotic forms.
    @Test(arguments: [Link.logit, .probit, .cloglog])
    func binomialKernelIsExactInTheTails(link: Link) throws {
        let family = try Family(.binomial, link: link)
        let rows: [(y: Double, weight: Double)] = [(0.4, 5), (0, 1), (1, 1), (0.25, 12)]
        for eta in [-40.0, -20, -8, -2.5, -0.3, 0, 0.7, 3, 8, 20, 40] {
            for row in rows {
                let (value, derivative) = family.logLikelihoodKernel(y: row.y, eta: eta, weight: row.weight)
                let h = 1e-5 * max(1, abs(eta))
                let up = family.logLikelihoodKernel(y: row.y, eta: eta + h, weight: row.weight).value
                let down = family.logLikelihoodKernel(y: row.y, eta: eta - h, weight: row.weight).value
                let numeric = (up - down) / (2 * h)
                #expect(value.isFinite || (row.y < 1 && eta > 30 && link == .cloglog), "\(link) η \(eta) \(row): value \(value)")
                if value.isFinite {
                    #expect(abs(derivative - numeric) < 1e-6 * max(1, abs(numeric)), "\(link) η \(eta) \(row): r \(derivative) vs \(numeric)")
                }
                // Where R's clamps and its 1 − μ keep full precision in `minusTwoLogLikelihood`.
                let comparable = switch link {
                case .logit: abs(eta) <= 8
                case .probit: abs(eta) <= 3
                default: eta >= -8 && eta <= 1
                }
                if comparable {
                    let reference = -0.5 * family.minusTwoLogLikelihood(y: row.y, mu: family.mean(eta), weight: row.weight)
                    let total = family.logLikelihoodConstant(y: row.y, weight: row.weight) + value
                    #expect(abs(total - reference) < 1e-10 * max(1, abs(reference)), "\(link) η \(eta) \(row): \(total) vs \(reference)")
                }
            }
        }
        // One success far in the lower tail: log μ against its asymptotic form.
        let eta = -30.0
        let value = family.logLikelihoodKernel(y: 1, eta: eta, weight: 1).value
        let expected: Double
        switch link {
        case .logit: expected = eta - log1p(exp(eta))
        case .probit:   // log Φ(−x) = −x²/2 − log x − ½ log 2π + log(1 − 1/x² + 3/x⁴ − 15/x⁶ + 105/x⁸)
            let x = -eta
            expected = -x * x / 2 - log(x) - 0.5 * log(2 * Double.pi) + log(1 - 1 / (x * x) + 3 / pow(x, 4) - 15 / pow(x, 6) + 105 / pow(x, 8))
        default: expected = eta - exp(eta) / 2   // log(1 − exp(−t)) = log t − t/2 + O(t²)
        }
        #expect(abs(value - expected) < 1e-10 * abs(expected), "\(link): log μ(−30) = \(value), expected \(expected)")
    }

    @Test func poissonKernelMatchesTheFamily() throws {
        let family = try Family(.poisson)
        for eta in [-20.0, -3, -0.5, 0, 1.2, 4, 9] {
            for (y, weight) in [(0.0, 1.0), (3, 1), (17, 2.5)] {
                let (value, derivative) = family.logLikelihoodKernel(y: y, eta: eta, weight: weight)
                let reference = -0.5 * family.minusTwoLogLikelihood(y: y, mu: family.mean(eta), weight: weight)
                let total = family.logLikelihoodConstant(y: y, weight: weight) + value
                #expect(abs(total - reference) < 1e-10 * max(1, abs(reference)))
                #expect(abs(derivative - weight * (y - exp(eta))) < 1e-12 * max(1, abs(derivative)))
            }
        }
    }

    /// No σ anywhere: not in the layout, its names, the output columns or the constrained values.
    @Test func layoutAndColumnsHaveNoSigma() throws {
        let design = try FamilyTestModel.binaryLogitSlope.design()
        let layout = PosteriorLayout(design: design, form: .full)
        #expect(layout.logSigmaIndex == nil)
        #expect(!layout.names.contains("log_sigma"))
        #expect(layout.names.prefix(5) == ["b_Intercept", "b_x", "log_sd_g__Intercept", "log_sd_g__x", "atanh_cpc_g__Intercept__x"])
        #expect(layout.dimension == 2 + 2 + 1 + 2 * 40)
        #expect(layout.scaleIndices == [2, 3, 4])
        let columns = OutputColumns(design: design)
        #expect(!columns.hasSigma && !columns.names.contains("sigma"))
        #expect(Array(columns.names.prefix(6)) == ["lp__", "b_Intercept", "b_x", "sd_g__Intercept", "sd_g__x", "cor_g__Intercept__x"])
        let nuts = try PosteriorNUTS(design: design, priors: FamilyTestModel.binaryLogitSlope.priors(for: design), form: .full)
        #expect(nuts.coordinateNames == layout.names)
        var random = TestRandom(seed: 5)
        let x = familyRandomPoint(layout, design: design, random: &random)
        let parameters = layout.constrain(x)
        #expect(parameters.sigma == nil)
        let back = layout.unconstrain(parameters)
        for (a, b) in zip(back, x) { #expect(abs(a - b) < 1e-12 * max(1, abs(b))) }
    }

    /// The collapsed and marginal forms integrate b out in closed form: Gaussian models only, and
    /// the error says so and names the way out.
    @Test(arguments: [PosteriorForm.collapsed, .marginal])
    func integratedFormsRefuseOtherFamilies(form: PosteriorForm) throws {
        let design = try FamilyTestModel.poissonOffset.design()
        let priors = FamilyTestModel.poissonOffset.priors(for: design)
        let expected = PosteriorError.integratedFormNeedsGaussian(form: form, family: design.family)
        #expect(throws: expected) { try CollapsedLogPosterior(design: design, priors: priors, integrateFixedEffects: form == .marginal) }
        #expect(throws: expected) { try PosteriorNUTS(design: design, priors: priors, form: form) }
        let message = expected.description
        #expect(message.contains("the \(form.rawValue) log-posterior") && message.contains("needs a Gaussian response"))
        #expect(message.contains("poisson(link = \"log\")") && message.contains("--target full"))
    }

    /// NUTS runs on a binomial model's full target from a start given by values alone (no fit):
    /// rows without `sigma`, finite, b = chol(Σ) z.
    @Test func nutsChainOnCbpp() throws {
        let design = try FamilyTestModel.cbppLogit.design()
        let posterior = try PosteriorNUTS(design: design, priors: FamilyTestModel.cbppLogit.priors(for: design), form: .full)
        let start = PosteriorStart(center: PosteriorParameters(beta: [-1.4, -1, -1.1, -1.6], sigma: nil, tau: [[0.6]], correlationFactors: [[1]]),
                                   betaJitter: [0.4, 0.5, 0.5, 0.6])
        var options = ChainOptions()
        options.warmup = 150
        options.draws = 100
        options.seed = 31
        final class Rows: PosteriorRowSink {
            var rows: [[Double]] = []
            func receive(_ row: [Double]) throws { rows.append(row) }
        }
        let sink = Rows()
        let summary = try posterior.run(start: start, options: options, sink: sink)
        #expect(sink.rows.count == 100 && summary.samplingIterationsDone == 100)
        #expect(!posterior.columnNames.contains("sigma"))
        #expect(sink.rows.allSatisfy { $0.count == posterior.columnNames.count && $0.allSatisfy(\.isFinite) })
        let intercept = posterior.columnNames.firstIndex(of: "b_Intercept")!
        let mean = sink.rows.map { $0[intercept] }.reduce(0, +) / 100
        // lme4's Laplace estimate is −1.40 (SE 0.23).
        #expect(abs(mean + 1.4) < 0.5, "posterior mean of the intercept \(mean)")
        print("NUTS cbpp: intercept mean \(mean), divergences \(summary.divergentSamplingIterations)")
    }
}
