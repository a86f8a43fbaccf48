import CNumerics

/// The random draws a sampler needs. `RandomStream` is the production source; tests substitute
/// a scripted source to pin down which branch a multinomial choice takes.
///
/// Class-bound so that one source can be handed to several components of one chain without
/// `inout` plumbing; a source is never shared across threads.
public protocol RandomSource: AnyObject {
    /// A uniform draw on the open interval (0, 1).
    func uniform() -> Double
    /// A standard normal draw N(0, 1).
    func standardNormal() -> Double
}

/// A per-chain random stream: GSL's Mersenne Twister (mt19937) seeded from a SplitMix64 mix of
/// `(seed, chain)`, so a chain's draws depend on nothing else (not on thread scheduling and not
/// on how many other chains run).
///
/// mt19937's seeding routine uses 32 bits of its seed, so a stream is one of 2³² MT streams,
/// picked by the 64-bit hash of (seed, chain); SplitMix64 spreads neighbouring chain ids over
/// that space, so chains 1, 2, 3 … of one seed do not start from correlated states.
///
/// Not thread-safe: one stream per chain, used by that chain's thread only.
///
/// `uniform()` reads the generator's state directly (GSL's mt19937 state: 624 words, then the
/// index of the next one): the next word, tempered as GSL's `mt_get` tempers it, over 2³², the
/// same double `gsl_rng_uniform_pos` returns, without its two calls through function pointers.
/// GSL itself regenerates the words when they run out (and skips a 0), and every other draw
/// (normals, gammas, …) goes through GSL on the same state, so the stream is GSL's, bit for bit
/// (RandomStreamTests).
public final class RandomStream: RandomSource {
    private let generator: UnsafeMutablePointer<gsl_rng>
    /// mt19937's state words (624 of them, each below 2³²) and the index of the next one.
    private let words: UnsafeMutablePointer<UInt>
    private let wordIndex: UnsafeMutablePointer<Int32>
    /// mt19937's state size: N = 624 words.
    private static let wordCount = 624
    public let seed: UInt64
    public let chain: Int

    public init(seed: UInt64, chain: Int) {
        self.seed = seed
        self.chain = chain
        guard let generator = gsl_rng_alloc(mixmc_rng_mt19937()) else {
            fatalError("gsl_rng_alloc failed: out of memory")
        }
        self.generator = generator
        // GSL's mt_state_t: unsigned long mt[624]; int mti (5000 bytes with the padding).
        precondition(String(cString: gsl_rng_name(generator)) == "mt19937"
                     && gsl_rng_size(generator) == Self.wordCount * MemoryLayout<UInt>.size + 8,
                     "GSL's mt19937 state is not laid out as RandomStream reads it")
        let state = generator.pointee.state!
        words = state.bindMemory(to: UInt.self, capacity: Self.wordCount)
        wordIndex = (state + Self.wordCount * MemoryLayout<UInt>.size).bindMemory(to: Int32.self, capacity: 1)
        gsl_rng_set(generator, UInt(RandomStream.streamSeed(seed: seed, chain: chain) & 0xffff_ffff))
    }

    deinit { gsl_rng_free(generator) }

    /// The 64-bit value that seeds the stream of `(seed, chain)`: SplitMix64 applied to the seed,
    /// then to that output combined with the chain id.
    public static func streamSeed(seed: UInt64, chain: Int) -> UInt64 {
        let mixedSeed = splitMix64(seed)
        return splitMix64(mixedSeed ^ UInt64(bitPattern: Int64(chain)))
    }

    /// One step of SplitMix64 (Steele, Lea & Flood 2014) from state `x`: the output for state
    /// `x + 0x9E3779B97F4A7C15`.
    static func splitMix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform on the open interval (0, 1) (`gsl_rng_uniform_pos`): never 0, so `log(u)` is finite.
    /// The next state word, tempered and over 2³², read in place (see the type's comment); GSL
    /// when the words are used up or the word tempers to 0.
    @inline(__always)
    public func uniform() -> Double {
        let index = Int(wordIndex.pointee)
        if index < Self.wordCount {
            wordIndex.pointee = Int32(truncatingIfNeeded: index &+ 1)
            var k = words[index]
            k ^= k &>> 11
            k ^= (k &<< 7) & 0x9d2c_5680
            k ^= (k &<< 15) & 0xefc6_0000
            k ^= k &>> 18
            if k != 0 { return Double(k) * 0x1p-32 }
        }
        return gsl_rng_uniform_pos(generator)
    }

    /// `uniform()` the way GSL draws it (`gsl_rng_uniform_pos`), for the tests that check the two
    /// agree.
    func uniformThroughGSL() -> Double { gsl_rng_uniform_pos(generator) }

    /// Standard normal by GSL's ziggurat (`gsl_ran_gaussian_ziggurat`).
    public func standardNormal() -> Double { gsl_ran_gaussian_ziggurat(generator, 1.0) }

    /// Gamma(shape k, scale θ), density x^(k-1) e^(-x/θ) / (Γ(k) θ^k); mean kθ, variance kθ².
    public func gamma(shape: Double, scale: Double) -> Double {
        precondition(shape > 0 && scale > 0, "gamma needs shape > 0 and scale > 0")
        return gsl_ran_gamma(generator, shape, scale)
    }

    /// A standard normal draw conditioned on being at least `a` (`gsl_ran_gaussian_tail`: plain
    /// rejection below a = 1, Marsaglia's tail method above), exact for every a.
    public func standardNormalTail(above a: Double) -> Double {
        gsl_ran_gaussian_tail(generator, a, 1.0)
    }

    /// Poisson with mean μ, exact: `gsl_ran_poisson` (32-bit counts) for μ < 10⁹, and above it
    /// the sum of ⌈μ / 10⁹⌉ independent Poisson(μ / pieces) draws; μ below 10¹⁵, where counts
    /// are still exact as doubles.
    public func poisson(mean: Double) -> Int {
        precondition(mean >= 0 && mean < 1e15, "poisson needs a mean in [0, 1e15), got \(mean)")
        let pieces = max(1, Int((mean / 1e9).rounded(.up)))
        var total = 0
        for _ in 0..<pieces { total += Int(gsl_ran_poisson(generator, mean / Double(pieces))) }
        return total
    }

    /// Exponential with rate λ (mean 1/λ).
    public func exponential(rate: Double) -> Double {
        precondition(rate > 0, "exponential needs rate > 0")
        return gsl_ran_exponential(generator, 1.0 / rate)
    }

    /// Fills `buffer` with independent standard normals, in index order (the same draws as
    /// calling `standardNormal()` `buffer.count` times).
    public func fillStandardNormals(_ buffer: UnsafeMutableBufferPointer<Double>) {
        for i in buffer.indices { buffer[i] = gsl_ran_gaussian_ziggurat(generator, 1.0) }
    }

    /// Fills `values` with independent standard normals, in index order.
    public func fillStandardNormals(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { fillStandardNormals($0) }
    }
}
