import Foundation
import Testing
@testable import Samplers

/// A Hamiltonian system whose trajectory is written by hand: state n (stored in position[0])
/// has momentum `momenta[n]` and energy `energies[n]`; a step moves to n + 1 or n - 1 by the
/// sign of the step size. Velocity = momentum (unit metric).
struct ScriptedSystem: HamiltonianSystem {
    let dimension: Int
    var momenta: [Int: [Double]]
    var energies: [Int: Double]

    init(dimension: Int, momenta: [Int: [Double]], energies: [Int: Double] = [:]) {
        self.dimension = dimension
        self.momenta = momenta
        self.energies = energies
    }

    static func index(_ point: PhasePoint) -> Int { Int(point.position[0]) }

    func momentum(_ n: Int) -> [Double] {
        momenta[n] ?? [Double](repeating: 1, count: dimension)
    }

    mutating func step(_ point: inout PhasePoint, stepSize: Double) {
        let n = Self.index(point) + (stepSize > 0 ? 1 : -1)
        point.position[0] = Double(n)
        point.momentum = momentum(n)
        point.logDensity = 0
    }

    func hamiltonian(_ point: PhasePoint) -> Double { energies[Self.index(point)] ?? 0 }

    func velocity(_ point: PhasePoint, into velocity: inout [Double]) {
        for i in velocity.indices { velocity[i] = point.momentum[i] }
    }

    func sampleMomentum(_ point: inout PhasePoint, random: some RandomSource) {
        point.momentum = momentum(Self.index(point))
    }

    mutating func evaluate(_ point: inout PhasePoint) {}
}

/// Hands out scripted uniforms, then 0.9 (forward, reject light proposals) once the script is
/// used up, and counts how many were taken; running past the script is not a crash, so a
/// trajectory that grows further than a test expects fails that test's expectations.
final class ScriptedRandom: RandomSource {
    private let uniforms: [Double]
    private(set) var taken = 0

    init(_ uniforms: [Double]) { self.uniforms = uniforms }

    func uniform() -> Double {
        defer { taken += 1 }
        return taken < uniforms.count ? uniforms[taken] : 0.9
    }

    func standardNormal() -> Double { 0 }
}

/// State 0 of a scripted trajectory.
func origin(dimension: Int) -> PhasePoint {
    var point = PhasePoint(dimension: dimension)
    point.momentum = [Double](repeating: 1, count: dimension)
    return point
}

@Suite struct UTurnCriterionTests {
    @Test func continuesWhileBothEndsMoveAlongRho() {
        let rho = [2.0, 0.5]
        #expect(noUTurn([1, 0.2], [1, 0.3], rho))
        // Orthogonal to ρ is already a turn: the criterion is strict.
        #expect(!noUTurn([1, 0.2], [-0.25, 1], rho))
    }

    @Test func turnsWhenEitherEndPointsBack() {
        let rho = [1.0, 0.0]
        #expect(!noUTurn([1, 0], [-1, 0], rho))
        #expect(!noUTurn([-0.5, 3], [1, 0], rho))
    }

    /// Two halves that each pass, whose union passes the plain criterion, but whose junction
    /// turns: a = (3,0),(3,0) then b = (-3,1),(-1,3). Only the extra checks catch it.
    @Test func mergedSubtreeExtraChecksCatchTurnAtTheJunction() {
        let a1 = [3.0, 0], a2 = [3.0, 0], b1 = [-3.0, 1], b2 = [-1.0, 3]
        let rhoA = [6.0, 0], rhoB = [-4.0, 4], rho = [2.0, 4]
        #expect(noUTurn(a1, a2, rhoA))
        #expect(noUTurn(b1, b2, rhoB))
        #expect(noUTurn(a1, b2, rho))
        // ρ_A + p(b1) = (3, 1): b1 · (3, 1) = -8.
        #expect(!noUTurn(a1, b1, [3, 1]))

        let system = ScriptedSystem(dimension: 2, momenta: [1: a1, 2: a2, 3: b1, 4: b2])
        let kernel = NUTSKernel(system: system)
        var point = origin(dimension: 2)
        let outcome = kernel.buildTree(depth: 2, from: &point, into: Subtree(dimension: 2), initialEnergy: 0,
                                       stepSize: 1, random: ScriptedRandom([Double](repeating: 0.9, count: 8)))
        #expect(outcome == .turning)
        #expect(kernel.leapfrogSteps == 4)

        // Same momenta with b1 = (1, 1): no turn anywhere.
        var smooth = system
        smooth.momenta[3] = [1, 1]
        let smoothKernel = NUTSKernel(system: smooth)
        var start = origin(dimension: 2)
        let smoothOutcome = smoothKernel.buildTree(
            depth: 2, from: &start, into: Subtree(dimension: 2), initialEnergy: 0, stepSize: 1,
            random: ScriptedRandom([Double](repeating: 0.9, count: 8)))
        #expect(smoothOutcome == .ok)
    }

    /// The same junction at the top level: trajectory {0, 1} with p = (3,0), extended forward by
    /// {2, 3} with p = (-3,1), (-1,3). The whole-trajectory criterion passes; the check of the
    /// old trajectory plus the new subtree's first state fails, so the transition stops at
    /// depth 2 after 3 leapfrog steps.
    @Test func topLevelExtraChecksStopTheTrajectory() {
        let system = ScriptedSystem(dimension: 2,
                                    momenta: [0: [3, 0], 1: [3, 0], 2: [-3, 1], 3: [-1, 3]])
        #expect(noUTurn([3, 0], [-1, 3], [2, 4]))
        let kernel = NUTSKernel(system: system, maxDepth: 5)
        var point = origin(dimension: 2)
        let statistics = kernel.transition(&point, stepSize: 1,
                                           random: ScriptedRandom([Double](repeating: 0.9, count: 16)))
        #expect(statistics.treeDepth == 2)
        #expect(statistics.leapfrogSteps == 3)
        #expect(!statistics.divergent)
    }

    @Test func uTurnInsideSubtreeRejectsTheWholeSubtree() {
        // p goes (1), (1), (-1): the depth-1 subtree {2, 3} turns, so the trajectory keeps only
        // {0, 1}; treedepth counts accepted doublings only, n_leapfrog counts all steps.
        let system = ScriptedSystem(dimension: 1, momenta: [0: [1], 1: [1], 2: [1], 3: [-1]])
        let kernel = NUTSKernel(system: system, maxDepth: 5)
        var point = origin(dimension: 1)
        let statistics = kernel.transition(&point, stepSize: 1,
                                           random: ScriptedRandom([Double](repeating: 0.9, count: 16)))
        #expect(statistics.treeDepth == 1)
        #expect(statistics.leapfrogSteps == 3)
        #expect(ScriptedSystem.index(point) <= 1)
    }
}

@Suite struct MultinomialSamplingTests {
    /// One doubling (max depth 1) from state 0 (weight 1) to state 1 with weight w = e^{-H₁}.
    func transitionWithNewWeight(_ weight: Double, uniforms: [Double]) -> (selected: Int, taken: Int) {
        let system = ScriptedSystem(dimension: 1, momenta: [:], energies: [0: 0, 1: -log(weight)])
        let kernel = NUTSKernel(system: system, maxDepth: 1)
        let random = ScriptedRandom(uniforms)
        var point = origin(dimension: 1)
        _ = kernel.transition(&point, stepSize: 1, random: random)
        return (ScriptedSystem.index(point), random.taken)
    }

    /// Top level: biased progressive sampling takes the new subtree with probability
    /// min(1, w_new / w_old) = 0.25 here; the first uniform (0.9) picks the forward direction.
    @Test func topLevelTakesLighterSubtreeWithProbabilityWeightRatio() {
        #expect(transitionWithNewWeight(0.25, uniforms: [0.9, 0.2499]).selected == 1)
        #expect(transitionWithNewWeight(0.25, uniforms: [0.9, 0.2501]).selected == 0)
    }

    /// Top level: a heavier new subtree (w_new / w_old = 4) is always taken, without a draw.
    @Test func topLevelAlwaysTakesHeavierSubtree() {
        let result = transitionWithNewWeight(4, uniforms: [0.9])
        #expect(result.selected == 1)
        #expect(result.taken == 1)
    }

    /// Inside a subtree the proposal comes from the final half with probability
    /// w_final / (w_initial + w_final): 3/4 here, even though the final half is heavier.
    @Test func insideSubtreeTakesFinalHalfWithProbabilityOfItsShareOfWeight() {
        func proposal(u: Double) -> Int {
            let system = ScriptedSystem(dimension: 1, momenta: [:], energies: [1: -log(1.0), 2: -log(3.0)])
            let kernel = NUTSKernel(system: system)
            let node = Subtree(dimension: 1)
            var point = origin(dimension: 1)
            let outcome = kernel.buildTree(depth: 1, from: &point, into: node, initialEnergy: 0,
                                           stepSize: 1, random: ScriptedRandom([u]))
            #expect(outcome == .ok)
            #expect(abs(node.logSumWeight - log(4.0)) < 1e-15)
            return ScriptedSystem.index(node.proposal)
        }
        #expect(proposal(u: 0.7499) == 2)
        #expect(proposal(u: 0.7501) == 1)
    }

    /// accept_stat__ is the mean over every leapfrog state of min(1, exp(H0 - H)).
    @Test func acceptStatisticAveragesOverAllLeapfrogStates() {
        let energies: [Int: Double] = [0: 0, 1: 0.5, 2: -0.2, 3: 2.0]
        let system = ScriptedSystem(dimension: 1, momenta: [:], energies: energies)
        let kernel = NUTSKernel(system: system, maxDepth: 2)
        var point = origin(dimension: 1)
        let statistics = kernel.transition(&point, stepSize: 1,
                                           random: ScriptedRandom([Double](repeating: 0.9, count: 8)))
        #expect(statistics.leapfrogSteps == 3)
        let expected = (exp(-0.5) + 1 + exp(-2.0)) / 3
        #expect(abs(statistics.acceptStat - expected) < 1e-15)
    }
}

@Suite struct DivergenceTests {
    @Test func energyErrorAboveThresholdDiverges() {
        let system = ScriptedSystem(dimension: 1, momenta: [:], energies: [0: 0, 1: 1000.5])
        let kernel = NUTSKernel(system: system, maxDepth: 10)
        var point = origin(dimension: 1)
        let statistics = kernel.transition(&point, stepSize: 1, random: ScriptedRandom([0.9, 0.9]))
        #expect(statistics.divergent)
        #expect(statistics.treeDepth == 0)
        #expect(statistics.leapfrogSteps == 1)
        #expect(ScriptedSystem.index(point) == 0)
    }

    @Test func energyErrorBelowThresholdDoesNotDiverge() {
        let system = ScriptedSystem(dimension: 1, momenta: [:], energies: [0: 0, 1: 999.5])
        let kernel = NUTSKernel(system: system, maxDepth: 1)
        var point = origin(dimension: 1)
        let outcome = kernel.buildTree(depth: 0, from: &point, into: Subtree(dimension: 1), initialEnergy: 0,
                                       stepSize: 1, random: ScriptedRandom([]))
        #expect(outcome == .ok)
    }

    @Test func nonFiniteEnergyDiverges() {
        let system = ScriptedSystem(dimension: 1, momenta: [:], energies: [0: 0, -1: .nan])
        let kernel = NUTSKernel(system: system, maxDepth: 1)
        var point = origin(dimension: 1)
        let outcome = kernel.buildTree(depth: 0, from: &point, into: Subtree(dimension: 1), initialEnergy: 0,
                                       stepSize: -1, random: ScriptedRandom([]))
        #expect(outcome == .diverging)
    }

    /// A target that returns NaN outside (-1, 1): every step out there is a divergence and the
    /// chain stays inside; nothing traps.
    @Test func nonFiniteLogDensityIsADivergenceNotACrash() throws {
        let sampler = try NUTSSampler(target: NaNOutsideInterval(), initialPosition: [0.1],
                                      options: NUTSOptions(), random: RandomStream(seed: 5, chain: 1))
        var divergences = 0
        for _ in 0..<200 {
            let statistics = sampler.transition()
            if statistics.divergent { divergences += 1 }
            #expect(abs(sampler.position[0]) < 1)
            #expect(statistics.logDensity.isFinite)
        }
        // Step size 1 on a unit normal cut at ±1: most trajectories leave the interval.
        #expect(divergences > 0)
    }

    @Test func nonFiniteInitialPointIsAnError() {
        #expect(throws: SamplerError.nonFiniteInitialPoint) {
            _ = try NUTSSampler(target: NaNOutsideInterval(), initialPosition: [2],
                                random: RandomStream(seed: 1, chain: 1))
        }
    }
}
