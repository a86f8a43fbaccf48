// Draws per second of PolyaGammaSampler(b:).draw(z:random:) on one thread, the sampler made once
// per b as a Gibbs sweep keeps it. See Benchmarks/README.md.
//
//     PolyaGammaDraws [--draws N] [--repeats R] [--seed S] [--case B:Z ...]
//
// `--case B:Z` (repeatable) times only the given (b, z) pairs instead of the default list, e.g.
// for counting instructions per draw of one case under callgrind.
// For each (b, z) it times R blocks of N draws (after one untimed block) and reports the median
// block's thread CPU time and wall time per draw, and draws per CPU second. CPU time is what a
// loaded machine inflates least. The sum of the draws is printed so the work cannot be skipped.
import Foundation
import Samplers

var draws = 1_000_000
var repeats = 5
var seed: UInt64 = 1
var chosen: [(b: Double, z: Double)] = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--draws": draws = Int(arguments.next() ?? "") ?? draws
    case "--repeats": repeats = Int(arguments.next() ?? "") ?? repeats
    case "--seed": seed = UInt64(arguments.next() ?? "") ?? seed
    case "--case":
        let parts = (arguments.next() ?? "").split(separator: ":").compactMap { Double($0) }
        guard parts.count == 2 else { fallthrough }
        chosen.append((parts[0], parts[1]))
    default:
        FileHandle.standardError.write("usage: PolyaGammaDraws [--draws N] [--repeats R] [--seed S] [--case B:Z ...]\n".data(using: .utf8)!)
        exit(2)
    }
}

func seconds(_ clock: clockid_t) -> Double {
    var time = timespec()
    clock_gettime(clock, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

// b = 1 at the z the issue names, then the other methods; 2.0000001 is the alternate method at
// h ≈ 2, beside b = 2 drawn as a sum of two PG(1, z).
let cases: [(b: Double, z: Double)] = chosen.isEmpty ? [
    (1, 0), (1, 1), (1, 5), (1, 50),
    (2, 1), (2.0000001, 1), (3, 1), (3.7, 1), (4, 1), (10, 1), (50, 1), (3.7, 50),
] : chosen
let random = RandomStream(seed: seed, chain: 1)
print("b\tz\tns/draw (cpu)\tns/draw (wall)\tdraws/s (cpu)\tsum")
for (b, z) in cases {
    var cpuTimes: [Double] = [], wallTimes: [Double] = []
    var sum = 0.0
    let sampler = PolyaGammaSampler(b: b)
    for block in 0...repeats {
        let cpu0 = seconds(CLOCK_THREAD_CPUTIME_ID), wall0 = seconds(CLOCK_MONOTONIC)
        for _ in 0..<draws { sum += sampler.draw(z: z, random: random) }
        let cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0, wall = seconds(CLOCK_MONOTONIC) - wall0
        if block > 0 { cpuTimes.append(cpu); wallTimes.append(wall) }
    }
    let cpu = cpuTimes.sorted()[repeats / 2] / Double(draws)
    let wall = wallTimes.sorted()[repeats / 2] / Double(draws)
    print("\(b)\t\(z)\t" + String(format: "%.0f\t%.0f\t%.2fM\t%.17g", cpu * 1e9, wall * 1e9, 1e-6 / cpu, sum))
}
