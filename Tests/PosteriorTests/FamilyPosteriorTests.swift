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

    /// The binomial-logit log-likelihood change (`Family.logLikelihoodChange`, the samplers'
    /// Metropolis-Hastings ratios and slice levels) against mpmath at 50 digits
    /// (scripts/make_logit_change_fixture.py), η from −40 to 40, changes from 10⁻⁹ to 30, binary
    /// and 12-trial rows: to a few units in the last place of the kernels it is the difference of,
    /// n (1 + |η| + |d|) 10⁻¹⁵, the absolute precision an acceptance ratio or a slice level can
    /// use (a row near its maximum, y ≈ μ, has s d and n Δsoftplus cancel to that level).
    @Test func logitLikelihoodChangeMatchesMpmath() throws {
        let family = try Family(.binomial, link: .logit)
        for (eta, d, y, weight, reference) in Self.logitChangeReference {
            let value = family.logLikelihoodChange(y: y, eta: eta, change: d, weight: weight)
            let bound = 1e-15 * weight * (1 + abs(eta) + abs(d))
            #expect(abs(value - reference) <= bound, "η \(eta), d \(d), y \(y), n \(weight): \(value) against \(reference)")
        }
    }

    /// (η, d, y, n, w y d − w (softplus(η + d) − softplus(η))) from
    /// scripts/make_logit_change_fixture.py.
    static let logitChangeReference: [(Double, Double, Double, Double, Double)] = [
        (-40.0, -30.0, 0.0, 1.0, 4.2483542552911914e-18),
        (-40.0, -30.0, 1.0, 1.0, -3.0e+1),
        (-40.0, -30.0, 0.25, 12.0, -9.0e+1),
        (-40.0, -1.5, 0.0, 1.0, 3.3004182899411134e-18),
        (-40.0, -1.5, 1.0, 1.0, -1.5),
        (-40.0, -1.5, 0.25, 12.0, -4.5),
        (-40.0, -0.999, 0.0, 1.0, 2.6839084020656251e-18),
        (-40.0, -0.999, 1.0, 1.0, -9.99e-1),
        (-40.0, -0.999, 0.25, 12.0, -2.997),
        (-40.0, -0.3, 0.0, 1.0, 1.1010960150608694e-18),
        (-40.0, -0.3, 1.0, 1.0, -2.9999999999999999e-1),
        (-40.0, -0.3, 0.25, 12.0, -8.9999999999999995e-1),
        (-40.0, -0.0001, 0.0, 1.0, 4.248141844659238e-22),
        (-40.0, -0.0001, 1.0, 1.0, -1.0e-4),
        (-40.0, -0.0001, 0.25, 12.0, -3.0000000000000001e-4),
        (-40.0, -1e-09, 0.0, 1.0, 4.2483542531674121e-27),
        (-40.0, -1e-09, 1.0, 1.0, -1.0000000000000001e-9),
        (-40.0, -1e-09, 0.25, 12.0, -3.0000000000000001e-9),
        (-40.0, 1e-09, 0.0, 1.0, -4.2483542574157664e-27),
        (-40.0, 1e-09, 1.0, 1.0, 1.0000000000000001e-9),
        (-40.0, 1e-09, 0.25, 12.0, 3.0000000000000001e-9),
        (-40.0, 0.0001, 0.0, 1.0, -4.2485666800851212e-22),
        (-40.0, 0.0001, 1.0, 1.0, 1.0e-4),
        (-40.0, 0.0001, 0.25, 12.0, 3.0000000000000001e-4),
        (-40.0, 0.3, 0.0, 1.0, -1.4863241539167539e-18),
        (-40.0, 0.3, 1.0, 1.0, 2.9999999999999999e-1),
        (-40.0, 0.3, 0.25, 12.0, 8.9999999999999995e-1),
        (-40.0, 0.999, 0.0, 1.0, -7.2883274657390447e-18),
        (-40.0, 0.999, 1.0, 1.0, 9.9899999999999999e-1),
        (-40.0, 0.999, 0.25, 12.0, 2.9969999999999999),
        (-40.0, 1.5, 0.0, 1.0, -1.4791448577572934e-17),
        (-40.0, 1.5, 1.0, 1.0, 1.5),
        (-40.0, 1.5, 0.25, 12.0, 4.4999999999999998),
        (-40.0, 30.0, 0.0, 1.0, -4.5398899216860398e-5),
        (-40.0, 30.0, 1.0, 1.0, 2.9999954601100783e+1),
        (-40.0, 30.0, 0.25, 12.0, 8.9999455213209398e+1),
        (-12.0, -30.0, 0.0, 1.0, 6.1441934777322305e-6),
        (-12.0, -30.0, 1.0, 1.0, -2.9999993855806522e+1),
        (-12.0, -30.0, 0.25, 12.0, -8.9999926269678267e+1),
        (-12.0, -1.5, 0.0, 1.0, 4.7732353311122704e-6),
        (-12.0, -1.5, 1.0, 1.0, -1.4999952267646689),
        (-12.0, -1.5, 0.25, 12.0, -4.4999427211760267),
        (-12.0, -0.999, 0.0, 1.0, 3.8816051704581054e-6),
        (-12.0, -0.999, 1.0, 1.0, -9.9899611839482954e-1),
        (-12.0, -0.999, 0.25, 12.0, -2.9969534207379545),
        (-12.0, -0.3, 0.0, 1.0, 1.5924593738069644e-6),
        (-12.0, -0.3, 1.0, 1.0, -2.9999840754062618e-1),
        (-12.0, -0.3, 0.25, 12.0, -8.9998089048751428e-1),
        (-12.0, -0.0001, 0.0, 1.0, 6.1438674056119977e-10),
        (-12.0, -0.0001, 1.0, 1.0, -9.9999385613259444e-5),
        (-12.0, -0.0001, 0.25, 12.0, -2.9999262735911328e-4),
        (-12.0, -1e-09, 0.0, 1.0, 6.1441745991426498e-15),
        (-12.0, -1e-09, 1.0, 1.0, -9.9999385582540092e-10),
        (-12.0, -1e-09, 0.25, 12.0, -2.9999262699048105e-9),
        (-12.0, 1e-09, 0.0, 1.0, -6.1441746052867866e-15),
        (-12.0, 1e-09, 1.0, 1.0, 9.9999385582539478e-10),
        (-12.0, 1e-09, 0.25, 12.0, 2.9999262699047367e-9),
        (-12.0, 0.0001, 0.0, 1.0, -6.144481819297643e-10),
        (-12.0, 0.0001, 1.0, 1.0, 9.9999385551818075e-5),
        (-12.0, 0.0001, 0.25, 12.0, 2.9999262662181686e-4),
        (-12.0, 0.3, 0.0, 1.0, -2.1495912894965929e-6),
        (-12.0, 0.3, 1.0, 1.0, 2.9999785040871049e-1),
        (-12.0, 0.3, 0.25, 12.0, 8.9997420490452601e-1),
        (-12.0, 0.999, 0.0, 1.0, -1.0540674766601778e-5),
        (-12.0, 0.999, 1.0, 1.0, 9.989894593252334e-1),
        (-12.0, 0.999, 0.25, 12.0, 2.9968735119028008),
        (-12.0, 1.5, 0.0, 1.0, -2.1391876750952706e-5),
        (-12.0, 1.5, 1.0, 1.0, 1.499978608123249),
        (-12.0, 1.5, 0.25, 12.0, 4.4997432974789886),
        (-12.0, 30.0, 0.0, 1.0, -1.7999993871036502e+1),
        (-12.0, 30.0, 1.0, 1.0, 1.2000006128963498e+1),
        (-12.0, 30.0, 0.25, 12.0, -1.2599992645243802e+2),
        (-3.0, -30.0, 0.0, 1.0, 4.85873515737374e-2),
        (-3.0, -30.0, 1.0, 1.0, -2.9951412648426263e+1),
        (-3.0, -30.0, 0.25, 12.0, -8.9416951781115151e+1),
        (-3.0, -1.5, 0.0, 1.0, 3.7539606725148242e-2),
        (-3.0, -1.5, 1.0, 1.0, -1.4624603932748518),
        (-3.0, -1.5, 0.25, 12.0, -4.0495247192982211),
        (-3.0, -0.999, 0.0, 1.0, 3.0419428611778573e-2),
        (-3.0, -0.999, 1.0, 1.0, -9.6858057138822143e-1),
        (-3.0, -0.999, 0.25, 12.0, -2.6319668566586571),
        (-3.0, -0.3, 0.0, 1.0, 1.2368092703082783e-2),
        (-3.0, -0.3, 1.0, 1.0, -2.8763190729691721e-1),
        (-3.0, -0.3, 0.25, 12.0, -7.5158288756300657e-1),
        (-3.0, -0.0001, 0.0, 1.0, 4.742361441273149e-6),
        (-3.0, -0.0001, 1.0, 1.0, -9.5257638558726856e-5),
        (-3.0, -0.0001, 0.25, 12.0, -2.4309166270472223e-4),
        (-3.0, -1e-09, 0.0, 1.0, 4.7425873154978454e-11),
        (-3.0, -1e-09, 1.0, 1.0, -9.5257412684502161e-10),
        (-3.0, -1e-09, 0.25, 12.0, -2.4308895221402587e-9),
        (-3.0, 1e-09, 0.0, 1.0, -4.7425873200155114e-11),
        (-3.0, 1e-09, 1.0, 1.0, 9.5257412679984495e-10),
        (-3.0, 1e-09, 0.25, 12.0, 2.4308895215981388e-9),
        (-3.0, 0.0001, 0.0, 1.0, -4.7428132078707325e-6),
        (-3.0, 0.0001, 1.0, 1.0, 9.5257186792129272e-5),
        (-3.0, 0.0001, 0.25, 12.0, 2.4308624150555122e-4),
        (-3.0, 0.3, 0.0, 1.0, -1.6456210202848489e-2),
        (-3.0, 0.3, 1.0, 1.0, 2.835437897971515e-1),
        (-3.0, 0.3, 0.25, 12.0, 7.025254775658181e-1),
        (-3.0, 0.999, 0.0, 1.0, -7.8221509030675557e-2),
        (-3.0, 0.999, 1.0, 1.0, 9.2077849096932444e-1),
        (-3.0, 0.999, 0.25, 12.0, 2.0583418916318933),
        (-3.0, 1.5, 0.0, 1.0, -1.5282592640901035e-1),
        (-3.0, 1.5, 1.0, 1.0, 1.3471740735909896),
        (-3.0, 1.5, 0.25, 12.0, 2.6660888830918758),
        (-3.0, 30.0, 0.0, 1.0, -2.6951412648428137e+1),
        (-3.0, 30.0, 1.0, 1.0, 3.0485873515718625),
        (-3.0, 30.0, 0.25, 12.0, -2.3341695178113765e+2),
        (-0.7, -30.0, 0.0, 1.0, 4.0318604888541144e-1),
        (-0.7, -30.0, 1.0, 1.0, -2.9596813951114589e+1),
        (-0.7, -30.0, 0.25, 12.0, -8.5161767413375063e+1),
        (-0.7, -1.5, 0.0, 1.0, 2.9810272911676199e-1),
        (-0.7, -1.5, 1.0, 1.0, -1.201897270883238),
        (-0.7, -1.5, 0.25, 12.0, -9.2276725059885617e-1),
        (-0.7, -0.999, 0.0, 1.0, 2.3524548891619085e-1),
        (-0.7, -0.999, 1.0, 1.0, -7.6375451108380915e-1),
        (-0.7, -0.999, 0.25, 12.0, -1.7405413300570982e-1),
        (-0.7, -0.3, 0.0, 1.0, 8.9924361367235059e-2),
        (-0.7, -0.3, 1.0, 1.0, -2.1007563863276493e-1),
        (-0.7, -0.3, 0.25, 12.0, 1.7909233640682074e-1),
        (-0.7, -0.0001, 0.0, 1.0, 3.318011423124703e-5),
        (-0.7, -0.0001, 1.0, 1.0, -6.6819885768752975e-5),
        (-0.7, -0.0001, 0.25, 12.0, 9.816137077496434e-5),
        (-0.7, -1e-09, 0.0, 1.0, 3.3181222772097749e-10),
        (-0.7, -1e-09, 1.0, 1.0, -6.6818777227902257e-10),
        (-0.7, -1e-09, 0.25, 12.0, 9.8174673265172966e-10),
        (-0.7, 1e-09, 0.0, 1.0, -3.3181222794269036e-10),
        (-0.7, 1e-09, 1.0, 1.0, 6.681877720573097e-10),
        (-0.7, 1e-09, 0.25, 12.0, -9.8174673531228414e-10),
        (-0.7, 0.0001, 0.0, 1.0, -3.318233135997935e-5),
        (-0.7, 0.0001, 1.0, 1.0, 6.6817668640020654e-5),
        (-0.7, 0.0001, 0.25, 12.0, -9.8187976319752191e-5),
        (-0.7, 0.3, 0.0, 1.0, -1.0982920351449473e-1),
        (-0.7, 0.3, 1.0, 1.0, 1.9017079648550526e-1),
        (-0.7, 0.3, 0.25, 12.0, -4.1795044217393678e-1),
        (-0.7, 0.999, 0.0, 1.0, -4.505948753014747e-1),
        (-0.7, 0.999, 1.0, 1.0, 5.484051246985253e-1),
        (-0.7, 0.999, 0.25, 12.0, -2.4101385036176964),
        (-0.7, 1.5, 0.0, 1.0, -7.6791461706231985e-1),
        (-0.7, 1.5, 1.0, 1.0, 7.3208538293768015e-1),
        (-0.7, 1.5, 0.25, 12.0, -4.7149754047478382),
        (-0.7, 30.0, 0.0, 1.0, -2.8896813951114731e+1),
        (-0.7, 30.0, 1.0, 1.0, 1.1031860488852694),
        (-0.7, 30.0, 0.25, 12.0, -2.5676176741337677e+2),
        (0.0, -30.0, 0.0, 1.0, 6.9314718055985173e-1),
        (0.0, -30.0, 1.0, 1.0, -2.9306852819440148e+1),
        (0.0, -30.0, 0.25, 12.0, -8.1682233833281779e+1),
        (0.0, -1.5, 0.0, 1.0, 4.917339025771929e-1),
        (0.0, -1.5, 1.0, 1.0, -1.0082660974228071),
        (0.0, -1.5, 0.25, 12.0, 1.4008068309263148),
        (0.0, -0.999, 0.0, 1.0, 3.7961645329924437e-1),
        (0.0, -0.999, 1.0, 1.0, -6.1938354670075562e-1),
        (0.0, -0.999, 0.25, 12.0, 1.5583974395909325),
        (0.0, -0.3, 0.0, 1.0, 1.3879193609141819e-1),
        (0.0, -0.3, 1.0, 1.0, -1.612080639085818e-1),
        (0.0, -0.3, 0.25, 12.0, 7.6550323309701826e-1),
        (0.0, -0.0001, 0.0, 1.0, 4.9998750000000523e-5),
        (0.0, -0.0001, 1.0, 1.0, -5.0001249999999482e-5),
        (0.0, -0.0001, 0.25, 12.0, 2.9998500000000626e-4),
        (0.0, -1e-09, 0.0, 1.0, 4.9999999987500003e-10),
        (0.0, -1e-09, 1.0, 1.0, -5.0000000012500003e-10),
        (0.0, -1e-09, 0.25, 12.0, 2.9999999985000002e-9),
        (0.0, 1e-09, 0.0, 1.0, -5.0000000012500003e-10),
        (0.0, 1e-09, 1.0, 1.0, 4.9999999987500003e-10),
        (0.0, 1e-09, 0.25, 12.0, -3.0000000015000002e-9),
        (0.0, 0.0001, 0.0, 1.0, -5.0001249999999482e-5),
        (0.0, 0.0001, 1.0, 1.0, 4.9998750000000523e-5),
        (0.0, 0.0001, 0.25, 12.0, -3.0001499999999376e-4),
        (0.0, 0.3, 0.0, 1.0, -1.612080639085818e-1),
        (0.0, 0.3, 1.0, 1.0, 1.3879193609141819e-1),
        (0.0, 0.3, 0.25, 12.0, -1.0344967669029817),
        (0.0, 0.999, 0.0, 1.0, -6.1938354670075562e-1),
        (0.0, 0.999, 1.0, 1.0, 3.7961645329924437e-1),
        (0.0, 0.999, 0.25, 12.0, -4.4356025604090675),
        (0.0, 1.5, 0.0, 1.0, -1.0082660974228071),
        (0.0, 1.5, 1.0, 1.0, 4.917339025771929e-1),
        (0.0, 1.5, 0.25, 12.0, -7.5991931690736852),
        (0.0, 30.0, 0.0, 1.0, -2.9306852819440148e+1),
        (0.0, 30.0, 1.0, 1.0, 6.9314718055985173e-1),
        (0.0, 30.0, 0.25, 12.0, -2.6168223383328178e+2),
        (0.4, -30.0, 0.0, 1.0, 9.1301525239981304e-1),
        (0.4, -30.0, 1.0, 1.0, -2.9086984747600187e+1),
        (0.4, -30.0, 0.25, 12.0, -7.9043816971202244e+1),
        (0.4, -1.5, 0.0, 1.0, 6.2567992728452182e-1),
        (0.4, -1.5, 1.0, 1.0, -8.7432007271547818e-1),
        (0.4, -1.5, 0.25, 12.0, 3.0081591274142619),
        (0.4, -0.999, 0.0, 1.0, 4.7517284381706817e-1),
        (0.4, -0.999, 1.0, 1.0, -5.2382715618293183e-1),
        (0.4, -0.999, 0.25, 12.0, 2.705074125804818),
        (0.4, -0.3, 0.0, 1.0, 1.6861859232638172e-1),
        (0.4, -0.3, 1.0, 1.0, -1.3138140767361826e-1),
        (0.4, -0.3, 0.25, 12.0, 1.1234231079165807),
        (0.4, -0.0001, 0.0, 1.0, 5.9867564699613348e-5),
        (0.4, -0.0001, 1.0, 1.0, -4.0132435300386657e-5),
        (0.4, -0.0001, 0.25, 12.0, 4.1841077639536016e-4),
        (0.4, -1e-09, 0.0, 1.0, 5.9868765999232167e-10),
        (0.4, -1e-09, 1.0, 1.0, -4.0131234000767839e-10),
        (0.4, -1e-09, 0.25, 12.0, 4.1842519199078599e-9),
        (0.4, 1e-09, 0.0, 1.0, -5.9868766023258242e-10),
        (0.4, 1e-09, 1.0, 1.0, 4.0131233976741765e-10),
        (0.4, 1e-09, 0.25, 12.0, -4.1842519227909888e-9),
        (0.4, 0.0001, 0.0, 1.0, -5.9869967307069879e-5),
        (0.4, 0.0001, 1.0, 1.0, 4.0130032692930126e-5),
        (0.4, 0.0001, 0.25, 12.0, -4.1843960768483853e-4),
        (0.4, 0.3, 0.0, 1.0, -1.9017079648550526e-1),
        (0.4, 0.3, 1.0, 1.0, 1.0982920351449473e-1),
        (0.4, 0.3, 0.25, 12.0, -1.3820495578260632),
        (0.4, 0.999, 0.0, 1.0, -7.066000529883728e-1),
        (0.4, 0.999, 1.0, 1.0, 2.923999470116272e-1),
        (0.4, 0.999, 0.25, 12.0, -5.4822006358604735),
        (0.4, 1.5, 0.0, 1.0, -1.126371505883008),
        (0.4, 1.5, 1.0, 1.0, 3.7362849411699203e-1),
        (0.4, 1.5, 0.25, 12.0, -9.0164580705960956),
        (0.4, 30.0, 0.0, 1.0, -2.948698474760011e+1),
        (0.4, 30.0, 1.0, 1.0, 5.1301525239988989e-1),
        (0.4, 30.0, 0.25, 12.0, -2.6384381697120132e+2),
        (2.5, -30.0, 0.0, 1.0, 2.5788897342914096),
        (2.5, -30.0, 1.0, 1.0, -2.742111026570859e+1),
        (2.5, -30.0, 0.25, 12.0, -5.9053323188503084e+1),
        (2.5, -1.5, 0.0, 1.0, 1.2656280467743268),
        (2.5, -1.5, 1.0, 1.0, -2.3437195322567321e-1),
        (2.5, -1.5, 0.25, 12.0, 1.0687536561291921e+1),
        (2.5, -0.999, 0.0, 1.0, 8.7665880727616525e-1),
        (2.5, -0.999, 1.0, 1.0, -1.2234119272383475e-1),
        (2.5, -0.999, 0.25, 12.0, 7.522905687313983),
        (2.5, -0.3, 0.0, 1.0, 2.738064145238537e-1),
        (2.5, -0.3, 1.0, 1.0, -2.6193585476146293e-2),
        (2.5, -0.3, 0.25, 12.0, 2.3856769742862444),
        (2.5, -0.0001, 0.0, 1.0, 9.2413831469381449e-5),
        (2.5, -0.0001, 1.0, 1.0, -7.5861685306185562e-6),
        (2.5, -0.0001, 0.25, 12.0, 8.0896597763257737e-4),
        (2.5, -1e-09, 0.0, 1.0, 9.2414181994370465e-10),
        (2.5, -1e-09, 1.0, 1.0, -7.5858180056295414e-11),
        (2.5, -1e-09, 0.25, 12.0, 8.0897018393244556e-9),
        (2.5, 1e-09, 0.0, 1.0, -9.2414182001380836e-10),
        (2.5, 1e-09, 1.0, 1.0, 7.5858179986191698e-11),
        (2.5, 1e-09, 0.25, 12.0, -8.0897018401657002e-9),
        (2.5, 0.0001, 0.0, 1.0, -9.2414532506547238e-5),
        (2.5, 0.0001, 1.0, 1.0, 7.5854674934527667e-6),
        (2.5, 0.0001, 0.25, 12.0, -8.0897439007856684e-4),
        (2.5, 0.3, 0.0, 1.0, -2.8014309199542177e-1),
        (2.5, 0.3, 1.0, 1.0, 1.9856908004578224e-2),
        (2.5, 0.3, 0.25, 12.0, -2.4617171039450612),
        (2.5, 0.999, 0.0, 1.0, -9.4989001044179938e-1),
        (2.5, 0.999, 1.0, 1.0, 4.9109989558200615e-2),
        (2.5, 0.999, 0.25, 12.0, -8.4016801253015926),
        (2.5, 1.5, 0.0, 1.0, -1.4392601936252601),
        (2.5, 1.5, 1.0, 1.0, 6.0739806374739883e-2),
        (2.5, 1.5, 0.25, 12.0, -1.2771122323503121e+1),
        (2.5, 30.0, 0.0, 1.0, -2.9921110265707458e+1),
        (2.5, 30.0, 1.0, 1.0, 7.8889734292541942e-2),
        (2.5, 30.0, 0.25, 12.0, -2.690533231884895e+2),
        (9.0, -30.0, 0.0, 1.0, 9.0001234014314672),
        (9.0, -30.0, 1.0, 1.0, -2.0999876598568533e+1),
        (9.0, -30.0, 0.25, 12.0, 1.8001480817177607e+1),
        (9.0, -1.5, 0.0, 1.0, 1.4995704707143625),
        (9.0, -1.5, 1.0, 1.0, -4.2952928563753756e-4),
        (9.0, -1.5, 0.25, 12.0, 1.349484564857235e+1),
        (9.0, -0.999, 0.0, 1.0, 9.9878833099939494e-1),
        (9.0, -0.999, 1.0, 1.0, -2.1166900060505738e-4),
        (9.0, -0.999, 0.25, 12.0, 8.9884599719927393),
        (9.0, -0.3, 0.0, 1.0, 2.9995683025261105e-1),
        (9.0, -0.3, 1.0, 1.0, -4.3169747388935863e-5),
        (9.0, -0.3, 0.25, 12.0, 2.6994819630313327),
        (9.0, -0.0001, 0.0, 1.0, 9.9987659925484074e-5),
        (9.0, -0.0001, 1.0, 1.0, -1.2340074515930662e-8),
        (9.0, -0.0001, 0.25, 12.0, 8.9985191910580888e-4),
        (9.0, -1e-09, 0.0, 1.0, 9.9987660542395214e-10),
        (9.0, -1e-09, 1.0, 1.0, -1.2339457604792141e-13),
        (9.0, -1e-09, 0.25, 12.0, 8.9985192650874255e-9),
        (9.0, 1e-09, 0.0, 1.0, -9.9987660542407552e-10),
        (9.0, 1e-09, 1.0, 1.0, 1.2339457592454206e-13),
        (9.0, 1e-09, 0.25, 12.0, -8.9985192650889061e-9),
        (9.0, 0.0001, 0.0, 1.0, -9.9987661159277573e-5),
        (9.0, 0.0001, 1.0, 1.0, 1.2338840722431986e-8),
        (9.0, 0.0001, 0.25, 12.0, -8.9985193391133086e-4),
        (9.0, 0.3, 0.0, 1.0, -2.9996801786281456e-1),
        (9.0, 0.3, 1.0, 1.0, 3.1982137185433832e-5),
        (9.0, 0.3, 0.25, 12.0, -2.6996162143537747),
        (9.0, 0.999, 0.0, 1.0, -9.9892204213006778e-1),
        (9.0, 0.999, 1.0, 1.0, 7.7957869932220695e-5),
        (9.0, 0.999, 0.25, 12.0, -8.9900645055608133),
        (9.0, 1.5, 0.0, 1.0, -1.4999041338805054),
        (9.0, 1.5, 1.0, 1.0, 9.5866119494573305e-5),
        (9.0, 1.5, 0.25, 12.0, -1.3498849606566065e+1),
        (9.0, 30.0, 0.0, 1.0, -2.9999876597810277e+1),
        (9.0, 30.0, 1.0, 1.0, 1.2340218972324727e-4),
        (9.0, 30.0, 0.25, 12.0, -2.6999851917372332e+2),
        (40.0, -30.0, 0.0, 1.0, 2.9999954601100783e+1),
        (40.0, -30.0, 1.0, 1.0, -4.5398899216860398e-5),
        (40.0, -30.0, 0.25, 12.0, 2.699994552132094e+2),
        (40.0, -1.5, 0.0, 1.0, 1.5),
        (40.0, -1.5, 1.0, 1.0, -1.4791448577572934e-17),
        (40.0, -1.5, 0.25, 12.0, 1.35e+1),
        (40.0, -0.999, 0.0, 1.0, 9.9899999999999999e-1),
        (40.0, -0.999, 1.0, 1.0, -7.2883274657390447e-18),
        (40.0, -0.999, 0.25, 12.0, 8.9909999999999999),
        (40.0, -0.3, 0.0, 1.0, 2.9999999999999999e-1),
        (40.0, -0.3, 1.0, 1.0, -1.4863241539167539e-18),
        (40.0, -0.3, 0.25, 12.0, 2.6999999999999999),
        (40.0, -0.0001, 0.0, 1.0, 1.0e-4),
        (40.0, -0.0001, 1.0, 1.0, -4.2485666800851212e-22),
        (40.0, -0.0001, 0.25, 12.0, 9.0000000000000004e-4),
        (40.0, -1e-09, 0.0, 1.0, 1.0000000000000001e-9),
        (40.0, -1e-09, 1.0, 1.0, -4.2483542574157664e-27),
        (40.0, -1e-09, 0.25, 12.0, 9.0000000000000005e-9),
        (40.0, 1e-09, 0.0, 1.0, -1.0000000000000001e-9),
        (40.0, 1e-09, 1.0, 1.0, 4.2483542531674121e-27),
        (40.0, 1e-09, 0.25, 12.0, -9.0000000000000005e-9),
        (40.0, 0.0001, 0.0, 1.0, -1.0e-4),
        (40.0, 0.0001, 1.0, 1.0, 4.248141844659238e-22),
        (40.0, 0.0001, 0.25, 12.0, -9.0000000000000004e-4),
        (40.0, 0.3, 0.0, 1.0, -2.9999999999999999e-1),
        (40.0, 0.3, 1.0, 1.0, 1.1010960150608694e-18),
        (40.0, 0.3, 0.25, 12.0, -2.6999999999999999),
        (40.0, 0.999, 0.0, 1.0, -9.99e-1),
        (40.0, 0.999, 1.0, 1.0, 2.6839084020656251e-18),
        (40.0, 0.999, 0.25, 12.0, -8.991),
        (40.0, 1.5, 0.0, 1.0, -1.5),
        (40.0, 1.5, 1.0, 1.0, 3.3004182899411134e-18),
        (40.0, 1.5, 0.25, 12.0, -1.35e+1),
        (40.0, 30.0, 0.0, 1.0, -3.0e+1),
        (40.0, 30.0, 1.0, 1.0, 4.2483542552911914e-18),
        (40.0, 30.0, 0.25, 12.0, -2.7e+2),
    ]

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
