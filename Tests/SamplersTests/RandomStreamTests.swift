import Foundation
import Testing
@testable import Samplers

@Suite struct RandomStreamTests {
    @Test func sameSeedAndChainGiveTheSameSequence() {
        let a = RandomStream(seed: 20240601, chain: 3)
        let b = RandomStream(seed: 20240601, chain: 3)
        for _ in 0..<1000 {
            #expect(a.uniform() == b.uniform())
            #expect(a.standardNormal() == b.standardNormal())
            #expect(a.gamma(shape: 0.7, scale: 2) == b.gamma(shape: 0.7, scale: 2))
        }
    }

    /// `uniform()` reads mt19937's state in place; it must give GSL's own uniforms, across many
    /// regenerations of the 624 state words and with GSL's normals and gammas drawn in between
    /// from the same state.
    @Test func uniformIsGSLsUniform() {
        for chain in 1...3 {
            let a = RandomStream(seed: 2026, chain: chain)
            let b = RandomStream(seed: 2026, chain: chain)
            for i in 0..<300_000 {
                #expect(a.uniform() == b.uniformThroughGSL())
                if i % 7 == 0 { #expect(a.standardNormal() == b.standardNormal()) }
                if i % 1001 == 0 { #expect(a.gamma(shape: 2.5, scale: 1) == b.gamma(shape: 2.5, scale: 1)) }
            }
        }
    }

    @Test func distinctChainsAndSeedsGiveDistinctStreams() {
        let streams = [RandomStream(seed: 1, chain: 1), RandomStream(seed: 1, chain: 2),
                       RandomStream(seed: 2, chain: 1), RandomStream(seed: 0, chain: 0)]
        let heads = streams.map { s in (0..<4).map { _ in s.uniform() } }
        for i in heads.indices { for j in heads.indices where j > i { #expect(heads[i] != heads[j]) } }
        // Neighbouring chain ids map to unrelated 64-bit stream seeds.
        let seeds = (1...64).map { RandomStream.streamSeed(seed: 7, chain: $0) }
        #expect(Set(seeds).count == seeds.count)
        #expect(Set(seeds.map { $0 & 0xffff_ffff }).count == seeds.count)
    }

    @Test func fillingABufferDrawsTheSameNormalsInOrder() {
        let a = RandomStream(seed: 11, chain: 2)
        let b = RandomStream(seed: 11, chain: 2)
        var buffer = [Double](repeating: 0, count: 257)
        a.fillStandardNormals(&buffer)
        #expect(buffer == (0..<257).map { _ in b.standardNormal() })
    }

    @Test func uniformsStayInsideTheOpenInterval() {
        let stream = RandomStream(seed: 3, chain: 1)
        for _ in 0..<100_000 {
            let u = stream.uniform()
            #expect(u > 0 && u < 1)
        }
    }

    /// Sample moments of n draws against the exact moments, each within 4 Monte Carlo standard
    /// errors: sd(mean) = σ/√n and sd(sample variance) ≈ √((μ₄ - σ⁴)/n).
    func checkMoments(_ draws: [Double], mean: Double, variance: Double, centralFourth: Double) {
        let n = Double(draws.count)
        let sampleMean = draws.reduce(0, +) / n
        let sampleVariance = draws.reduce(0) { $0 + ($1 - sampleMean) * ($1 - sampleMean) } / (n - 1)
        #expect(abs(sampleMean - mean) < 4 * (variance / n).squareRoot())
        #expect(abs(sampleVariance - variance) < 4 * ((centralFourth - variance * variance) / n).squareRoot())
    }

    @Test func normalMomentsMatch() {
        let stream = RandomStream(seed: 42, chain: 1)
        let draws = (0..<200_000).map { _ in stream.standardNormal() }
        checkMoments(draws, mean: 0, variance: 1, centralFourth: 3)
        // Fourth moment 3, with Var(x⁴) = E x⁸ - 9 = 105 - 9.
        let fourth = draws.reduce(0) { $0 + $1 * $1 * $1 * $1 } / Double(draws.count)
        #expect(abs(fourth - 3) < 4 * (96 / Double(draws.count)).squareRoot())
    }

    @Test(arguments: [(2.5, 1.5), (0.5, 2.0), (10.0, 0.1)])
    func gammaMomentsMatch(shape: Double, scale: Double) {
        let stream = RandomStream(seed: 43, chain: 1)
        let draws = (0..<200_000).map { _ in stream.gamma(shape: shape, scale: scale) }
        let theta4 = pow(scale, 4)
        checkMoments(draws, mean: shape * scale, variance: shape * scale * scale,
                     centralFourth: 3 * shape * (shape + 2) * theta4)
        #expect(draws.allSatisfy { $0 > 0 })
    }

    @Test func exponentialAndUniformMomentsMatch() {
        let stream = RandomStream(seed: 44, chain: 1)
        let rate = 2.0
        let exponentials = (0..<200_000).map { _ in stream.exponential(rate: rate) }
        checkMoments(exponentials, mean: 1 / rate, variance: 1 / (rate * rate), centralFourth: 9 / pow(rate, 4))
        let uniforms = (0..<200_000).map { _ in stream.uniform() }
        checkMoments(uniforms, mean: 0.5, variance: 1.0 / 12, centralFourth: 1.0 / 80)
    }
}
