import Foundation

/// How building (part of) a trajectory ended.
public enum TreeExtension: Sendable, Equatable {
    /// Built completely, and no U-turn inside it.
    case ok
    /// The generalized U-turn criterion failed somewhere inside it.
    case turning
    /// Some leapfrog state had H - H0 above the divergence threshold.
    case diverging
}

/// What a finished subtree hands to its parent: the summed momentum ρ, the momenta and
/// velocities at its two ends, its log summed weight and the state it proposes.
///
/// "Begin" is the first state integrated, "end" the last; for a subtree built backward in time
/// the begin is its later end in time. Instances are scratch storage, reused every transition
/// (one pair per depth), so that building a tree allocates nothing.
final class Subtree {
    /// log Σ exp(H0 - H) over the subtree's states.
    var logSumWeight = -Double.infinity
    /// ρ = Σ p over the subtree's states.
    var rho: [Double]
    var momentumBegin: [Double]
    /// p♯ = M⁻¹ p at the first state.
    var velocityBegin: [Double]
    var momentumEnd: [Double]
    var velocityEnd: [Double]
    /// The state drawn from the subtree (multinomially, in proportion to exp(-H)).
    var proposal: PhasePoint

    init(dimension: Int) {
        rho = [Double](repeating: 0, count: dimension)
        momentumBegin = rho
        velocityBegin = rho
        momentumEnd = rho
        velocityEnd = rho
        proposal = PhasePoint(dimension: dimension)
    }
}

/// Stan's NUTS transition (`base_nuts::transition` and `build_tree`, Stan ≥ 2.23): multinomial
/// sampling over a trajectory doubled in random directions, the generalized U-turn criterion on
/// velocities p♯ and summed momenta ρ, with the extra checks across merged subtrees; biased
/// progressive sampling between the old trajectory and a new subtree, uniform (weight-
/// proportional) sampling inside a subtree; a divergence when H - H0 exceeds `maxEnergyError`.
///
/// References: Hoffman & Gelman (2014); Betancourt (2017), "A Conceptual Introduction to
/// Hamiltonian Monte Carlo", appendix A; Stan's `base_nuts.hpp`.
public final class NUTSKernel<System: HamiltonianSystem> {
    public var system: System
    /// Maximum number of doublings (Stan's `max_depth`, default 10).
    public var maxDepth: Int
    /// Divergence threshold on H - H0 (Stan's `max_deltaH`, 1000).
    public var maxEnergyError: Double

    // Scratch, allocated once: per-depth pairs of subtrees, the new subtree at the top level,
    // the trajectory's two moving ends and the selected state.
    private var children: [(first: Subtree, second: Subtree)] = []
    private let extensionTree: Subtree
    private var forwardEnd: PhasePoint
    private var backwardEnd: PhasePoint
    private var selected: PhasePoint
    /// The whole trajectory's ρ and its ends' momenta and velocities.
    private var rho: [Double]
    private var momentumForward: [Double]
    private var velocityForward: [Double]
    private var momentumBackward: [Double]
    private var velocityBackward: [Double]
    private var rhoScratch: [Double]

    /// Leapfrog steps and Σ min(1, exp(H0 - H)) within the current transition.
    private(set) var leapfrogSteps = 0
    private(set) var sumAcceptProbability = 0.0

    public init(system: System, maxDepth: Int = 10, maxEnergyError: Double = 1000) {
        precondition(maxDepth >= 1, "maxDepth must be at least 1")
        let n = system.dimension
        self.system = system
        self.maxDepth = maxDepth
        self.maxEnergyError = maxEnergyError
        extensionTree = Subtree(dimension: n)
        forwardEnd = PhasePoint(dimension: n)
        backwardEnd = forwardEnd
        selected = forwardEnd
        rho = [Double](repeating: 0, count: n)
        momentumForward = rho
        velocityForward = rho
        momentumBackward = rho
        velocityBackward = rho
        rhoScratch = rho
        reserveChildren(depth: maxDepth)
    }

    private func reserveChildren(depth: Int) {
        while children.count < depth {
            children.append((Subtree(dimension: system.dimension), Subtree(dimension: system.dimension)))
        }
    }

    /// One NUTS transition from `current`, whose position, log density and gradient must be
    /// valid; on return `current` is the selected state (with its momentum).
    public func transition(_ current: inout PhasePoint, stepSize: Double,
                           random: some RandomSource) -> NUTSStatistics {
        reserveChildren(depth: maxDepth)
        system.sampleMomentum(&current, random: random)
        let initialEnergy = system.hamiltonian(current)

        forwardEnd.assign(current)
        backwardEnd.assign(current)
        selected.assign(current)
        copyElements(current.momentum, into: &rho)
        copyElements(current.momentum, into: &momentumForward)
        copyElements(current.momentum, into: &momentumBackward)
        system.velocity(current, into: &velocityForward)
        copyElements(velocityForward, into: &velocityBackward)

        var logSumWeight = 0.0  // log exp(H0 - H0)
        leapfrogSteps = 0
        sumAcceptProbability = 0
        var depth = 0
        var divergent = false

        while depth < maxDepth {
            let forward = random.uniform() > 0.5
            let outcome: TreeExtension
            if forward {
                outcome = buildTree(depth: depth, from: &forwardEnd, into: extensionTree,
                                    initialEnergy: initialEnergy, stepSize: stepSize, random: random)
            } else {
                outcome = buildTree(depth: depth, from: &backwardEnd, into: extensionTree,
                                    initialEnergy: initialEnergy, stepSize: -stepSize, random: random)
            }
            if outcome == .diverging { divergent = true }
            guard outcome == .ok else { break }
            depth += 1

            // Biased progressive sampling: the new subtree's proposal replaces the current
            // selection with probability min(1, w_new / w_old), which favours moving far.
            if extensionTree.logSumWeight > logSumWeight {
                selected.assign(extensionTree.proposal)
            } else if random.uniform() < exp(extensionTree.logSumWeight - logSumWeight) {
                selected.assign(extensionTree.proposal)
            }
            logSumWeight = logSumExp(logSumWeight, extensionTree.logSumWeight)

            // The old trajectory is piece A, the new subtree piece B; A's inner end is the one
            // the subtree was grown from.
            var persist: Bool
            if forward {
                persist = joinedPiecesContinue(
                    rhoA: rho, velocityOuterA: velocityBackward, velocityInnerA: velocityForward,
                    momentumInnerA: momentumForward, piece: extensionTree)
            } else {
                persist = joinedPiecesContinue(
                    rhoA: rho, velocityOuterA: velocityForward, velocityInnerA: velocityBackward,
                    momentumInnerA: momentumBackward, piece: extensionTree)
            }
            addElements(extensionTree.rho, into: &rho)
            if forward {
                swap(&momentumForward, &extensionTree.momentumEnd)
                swap(&velocityForward, &extensionTree.velocityEnd)
            } else {
                swap(&momentumBackward, &extensionTree.momentumEnd)
                swap(&velocityBackward, &extensionTree.velocityEnd)
            }
            persist = persist && noUTurn(velocityBackward, velocityForward, rho)
            if !persist { break }
        }

        current.assign(selected)
        return NUTSStatistics(
            logDensity: current.logDensity,
            acceptStat: sumAcceptProbability / Double(leapfrogSteps),
            stepSize: stepSize, treeDepth: depth, leapfrogSteps: leapfrogSteps,
            divergent: divergent, energy: system.hamiltonian(current))
    }

    /// Builds a subtree of 2^depth states by integrating `point` onward with the signed
    /// `stepSize`, writing its summary into `node`; `point` ends at the subtree's last state.
    /// Returns at the first failure: a divergent leaf, or a U-turn in any sub-subtree.
    func buildTree(depth: Int, from point: inout PhasePoint, into node: Subtree,
                   initialEnergy: Double, stepSize: Double, random: some RandomSource) -> TreeExtension {
        if depth == 0 {
            system.step(&point, stepSize: stepSize)
            leapfrogSteps += 1
            var energy = system.hamiltonian(point)
            if energy.isNaN { energy = .infinity }
            let logWeight = initialEnergy - energy
            node.logSumWeight = logWeight
            sumAcceptProbability += logWeight > 0 ? 1 : exp(logWeight)
            node.proposal.assign(point)
            copyElements(point.momentum, into: &node.rho)
            copyElements(point.momentum, into: &node.momentumBegin)
            copyElements(point.momentum, into: &node.momentumEnd)
            system.velocity(point, into: &node.velocityBegin)
            copyElements(node.velocityBegin, into: &node.velocityEnd)
            return energy - initialEnergy > maxEnergyError ? .diverging : .ok
        }

        let (initial, final) = children[depth - 1]
        let initialOutcome = buildTree(depth: depth - 1, from: &point, into: initial,
                                       initialEnergy: initialEnergy, stepSize: stepSize, random: random)
        guard initialOutcome == .ok else { return initialOutcome }
        let finalOutcome = buildTree(depth: depth - 1, from: &point, into: final,
                                     initialEnergy: initialEnergy, stepSize: stepSize, random: random)
        guard finalOutcome == .ok else { return finalOutcome }

        // Inside a subtree the proposal is drawn uniformly in proportion to weight: the final
        // half's proposal wins with probability w_final / (w_initial + w_final).
        node.logSumWeight = logSumExp(initial.logSumWeight, final.logSumWeight)
        swap(&node.proposal, &initial.proposal)
        if final.logSumWeight > node.logSumWeight {
            swap(&node.proposal, &final.proposal)
        } else if random.uniform() < exp(final.logSumWeight - node.logSumWeight) {
            swap(&node.proposal, &final.proposal)
        }

        addElements(initial.rho, final.rho, into: &node.rho)
        let persist = joinedPiecesContinue(
            rhoA: initial.rho, velocityOuterA: initial.velocityBegin, velocityInnerA: initial.velocityEnd,
            momentumInnerA: initial.momentumEnd, piece: final)
            && noUTurn(initial.velocityBegin, final.velocityEnd, node.rho)

        swap(&node.momentumBegin, &initial.momentumBegin)
        swap(&node.velocityBegin, &initial.velocityBegin)
        swap(&node.momentumEnd, &final.momentumEnd)
        swap(&node.velocityEnd, &final.velocityEnd)
        return persist ? .ok : .turning
    }

    /// Stan's extra checks across two adjacent pieces A and B of a trajectory, B grown from A's
    /// inner end (B's begin touches A's inner end): the U-turn criterion must hold on
    /// A extended by B's first state, and on B extended by A's last state. Without these, a
    /// trajectory made of two halves that each pass can hide a U-turn at their junction.
    /// The criterion over the whole joined trajectory is checked by the caller.
    func joinedPiecesContinue(rhoA: [Double], velocityOuterA: [Double], velocityInnerA: [Double],
                              momentumInnerA: [Double], piece b: Subtree) -> Bool {
        addElements(rhoA, b.momentumBegin, into: &rhoScratch)
        guard noUTurn(velocityOuterA, b.velocityBegin, rhoScratch) else { return false }
        addElements(b.rho, momentumInnerA, into: &rhoScratch)
        return noUTurn(velocityInnerA, b.velocityEnd, rhoScratch)
    }
}

/// The generalized no-U-turn criterion (Betancourt 2017): the trajectory may keep growing while
/// the velocities at both ends still point along the summed momentum ρ,
/// p♯₋ · ρ > 0 and p♯₊ · ρ > 0.
@inline(__always)
func noUTurn(_ velocityMinus: [Double], _ velocityPlus: [Double], _ rho: [Double]) -> Bool {
    dot(velocityPlus, rho) > 0 && dot(velocityMinus, rho) > 0
}

/// log(exp(a) + exp(b)) without overflow; -∞ when both are -∞.
@inline(__always)
func logSumExp(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    let larger = max(a, b)
    return larger + log1p(exp(-abs(a - b)))
}
