import Foundation
import Testing
import ChainIO

/// Writes two deterministic chains with `StanCSVWriter`, for scripts/check_readers.py to feed to
/// the real readers (CmdStanPy's `check_sampler_csv`, ArviZ's `from_cmdstan`). The files go to
/// `$MIXMC_EXAMPLE_CHAINS_DIR` when set, else to a temporary directory (then it is only a smoke test).
struct ExampleChainsTests {
    static let columns = ["lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__", "divergent__", "energy__",
                          "b_Intercept", "sigma", "r_Subject.1.1", "r_Subject.2.1"]

    /// Value of column `column` at draw `draw` of chain `chain`; the script recomputes the same.
    static func value(chain: Int, draw: Int, column: Int) -> Double {
        switch column {
        case 3: return Double(1 + (draw + chain) % 4)                    // treedepth__
        case 4: return Double((1 << (1 + (draw + chain) % 4)) - 1)       // n_leapfrog__
        case 5: return draw == 20 + 7 * chain ? 1 : 0                       // divergent__
        default: return sin(Double(draw * 31 + column * 7 + chain * 1000)) * Double(column + 1) + (column == 0 ? -100 : 0)
        }
    }

    @Test func writesExampleChains() throws {
        let directory = ProcessInfo.processInfo.environment["MIXMC_EXAMPLE_CHAINS_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-example-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let numWarmup = 20
        let numSamples = 50
        for chain in 1...2 {
            let url = directory.appendingPathComponent("example-\(chain).csv")
            let configuration = StanCSVConfiguration.cmdStanSample(
                model: "example_model", numSamples: numSamples, numWarmup: numWarmup, saveWarmup: true,
                chainID: chain, dataFile: "example.json", seed: 12345, outputFile: url.lastPathComponent)
            let writer = try StanCSVWriter(url: url, configuration: configuration, columnNames: Self.columns, flushEvery: 16)
            for draw in 0..<(numWarmup + numSamples) {
                if draw == numWarmup {
                    try writer.writeAdaptation(StanCSVAdaptation(stepSize: 0.5 / Double(chain), metric: .diagonal([1, 2, 3, 4])))
                }
                try writer.writeDraw(Self.columns.indices.map { Self.value(chain: chain, draw: draw, column: $0) })
            }
            try writer.finish(timing: StanCSVTiming(warmupSeconds: 0.5, samplingSeconds: 1.0))
            let read = try StanCSVReader.read(url: url)
            #expect(read.drawCount == numSamples)
            #expect(read.warmupDraws[0].count == numWarmup)
        }
    }
}
