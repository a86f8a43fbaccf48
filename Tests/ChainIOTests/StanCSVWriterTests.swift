import Foundation
import Testing
import ChainIO
import TestSupport

struct StanCSVWriterTests {
    static func temporaryFile(_ name: String) -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-chainio-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name)
    }

    static let columns = ["lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__", "divergent__", "energy__",
                          "b_Intercept", "sigma", "r_Subject.3.1"]

    /// Values that stress the number format: non-finite, signed zero, subnormal, extremes, and
    /// values with 17 significant digits.
    static let awkwardValues: [Double] = [.nan, .infinity, -.infinity, -0.0, 0, Double.leastNonzeroMagnitude, 2.2250738585072014e-308,
                                          1.7976931348623157e308, 0.1, 1.0 / 3.0, -123456.78901234567, 9007199254740994,
                                          1e16, 3, -2, 0.30000000000000004]

    static func sameBits(_ first: Double, _ second: Double) -> Bool {
        (first.isNaN && second.isNaN) || first.bitPattern == second.bitPattern
    }

    @Test func numberFormatRoundTripsExactly() {
        for value in Self.awkwardValues {
            let text = StanCSVNumberFormat.format(value)
            let parsed = StanCSVNumberFormat.parse(Substring(text))
            #expect(parsed.map { Self.sameBits($0, value) } == true, "\(value) → \(text) → \(String(describing: parsed))")
        }
        #expect(StanCSVNumberFormat.format(.nan) == "nan")
        #expect(StanCSVNumberFormat.format(-.infinity) == "-inf")
        #expect(StanCSVNumberFormat.format(3) == "3")
        #expect(StanCSVNumberFormat.parse("0x1p3") == nil)
        #expect(StanCSVNumberFormat.parse("1.5abc") == nil)
    }

    /// The allocation-free printer against `Double.description` and against parsing back, on
    /// random bit patterns (every exponent, both signs, NaN payloads and subnormals included) and
    /// on random values of the magnitudes a chain holds.
    @Test func numberFormatMatchesDescriptionOnRandomBitPatterns() {
        var generator = SplitMix(seed: 20261121)
        var mismatches: [String] = []
        for i in 0..<100_000 {
            let bits = generator.next()
            let value = i % 2 == 0 ? Double(bitPattern: bits)
                                   : Double(sign: bits & 1 == 0 ? .plus : .minus,
                                            exponent: Int(bits >> 1 & 0x3f) - 32, significand: 1 + Double(bits >> 11) * 0x1p-53)
            let text = StanCSVNumberFormat.format(value)
            let expected: String
            if value.isNaN { expected = "nan" }
            else if value.isInfinite { expected = value < 0 ? "-inf" : "inf" }
            else if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
                expected = value == 0 ? (value.sign == .minus ? "-0" : "0") : String(Int64(value))
            } else { expected = value.description }
            let parsed = Double(text) ?? (text == "nan" ? .nan : nil)
            if text != expected || parsed.map({ Self.sameBits($0, value) || (value.isNaN && $0.isNaN) }) != true {
                mismatches.append("\(value.bitPattern): \(text) vs \(expected)")
                if mismatches.count > 5 { break }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// SplitMix64, a tiny seeded generator so the bit patterns are the same on every run.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Issue 12: a file cut back to its first rows (a run stopped at once, cut to its shortest
    /// chain) loses the adaptation block written after them, and takes the trailer again.
    @Test func truncatingToRowsDropsWhatCameAfterThem() throws {
        let url = Self.temporaryFile("chain-1.csv")
        let configuration = StanCSVConfiguration.cmdStanSample(model: "m", numSamples: 4, numWarmup: 3, saveWarmup: true,
                                                               chainID: 1, dataFile: "d.csv", seed: 1, outputFile: url.lastPathComponent)
        let row = { (value: Double) in (0..<Self.columns.count).map { Double($0) + value } }
        for keep in [5, 3, 2, 0] {
            let writer = try StanCSVWriter(url: url, configuration: configuration, columnNames: Self.columns, flushEvery: 2)
            for value in 0..<3 { try writer.writeDraw(row(Double(value))) }
            try writer.writeAdaptation(StanCSVAdaptation(stepSize: 0.5, metric: .diagonal([1, 2, 3])))
            for value in 3..<6 { try writer.writeDraw(row(Double(value))) }
            try writer.truncate(toRows: keep)
            try writer.finish(timing: StanCSVTiming(warmupSeconds: 1, samplingSeconds: 2))
            let chain = try StanCSVReader.read(url: url)
            #expect(chain.warmupDraws.first?.count == min(keep, 3))
            #expect(chain.drawCount == max(0, keep - 3))
            #expect((chain.adaptation != nil) == (keep > 3))
            #expect(chain.timing != nil && !chain.droppedPartialFinalLine)
            #expect(chain.draws.first == (3..<max(3, keep)).map { Double($0) })
        }
    }

    @Test func writerThenReaderRoundTrip() throws {
        let url = Self.temporaryFile("chain-1.csv")
        let configuration = StanCSVConfiguration.cmdStanSample(model: "sleepstudy", numSamples: 4, numWarmup: 3,
                                                               saveWarmup: true, maxDepth: 12, chainID: 1,
                                                               dataFile: "sleepstudy.csv", seed: 4711,
                                                               outputFile: url.lastPathComponent)
        let writer = try StanCSVWriter(url: url, configuration: configuration, columnNames: Self.columns, flushEvery: 2)
        var rng = SystemRandomNumberGenerator()
        var rows: [[Double]] = []
        for row in 0..<7 {
            var values = (0..<Self.columns.count).map { _ in Double.random(in: -1000...1000, using: &rng) }
            values[3] = Double(row % 4 + 1)
            values[5] = row == 5 ? 1 : 0
            if row == 4 { values[7...] = ArraySlice(Self.awkwardValues.prefix(3)) }
            if row == 6 { values = Array(Self.awkwardValues.suffix(Self.columns.count)) }
            rows.append(values)
        }
        for row in rows.prefix(3) { try writer.writeDraw(row) }
        let adaptation = StanCSVAdaptation(stepSize: 0.123456789, metric: .diagonal([1.5, 0.25, 1e-7]))
        try writer.writeAdaptation(adaptation)
        for row in rows.dropFirst(3) { try writer.writeDraw(row) }
        try writer.finish(timing: StanCSVTiming(warmupSeconds: 1.25, samplingSeconds: 2.5))

        let chain = try StanCSVReader.read(url: url)
        #expect(chain.columnNames == Self.columns)
        #expect(chain.configuration == configuration)
        #expect(chain.config["max_depth"] == "12")
        #expect(chain.config["num_samples"] == "4")
        #expect(chain.configuration.qualifiedValues["data.file"] == "sleepstudy.csv")
        #expect(chain.adaptation == adaptation)
        #expect(chain.timing == StanCSVTiming(warmupSeconds: 1.25, samplingSeconds: 2.5, totalSeconds: 3.75))
        #expect(chain.warmupDraws[0].count == 3)
        #expect(chain.drawCount == 4)
        for (column, _) in Self.columns.enumerated() {
            for (index, row) in rows.enumerated() {
                let read = index < 3 ? chain.warmupDraws[column][index] : chain.draws[column][index - 3]
                #expect(Self.sameBits(read, row[column]), "row \(index) column \(Self.columns[column])")
            }
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("# method = sample (Default)\n#   sample\n#     num_samples = 4\n"))
        #expect(text.contains("#             max_depth = 12 (Default)\n"))
        #expect(text.contains("\n# Adaptation terminated\n# Step size = 0.123456789\n# Diagonal elements of inverse mass matrix:\n# 1.5, 0.25, 1e-07\n"))
        #expect(text.hasSuffix("# \n#  Elapsed Time: 1.250 seconds (Warm-up)\n#                2.500 seconds (Sampling)\n#                3.750 seconds (Total)\n# \n"))
    }

    /// A run that stops without `finish` (killed, or read while still sampling) leaves only whole
    /// rows on disk: everything flushed so far, no partial line, and no timing trailer.
    @Test func interruptedRunLeavesWholeRows() throws {
        let url = Self.temporaryFile("interrupted.csv")
        let configuration = StanCSVConfiguration.cmdStanSample(model: "m", numSamples: 100, numWarmup: 10, seed: 1,
                                                               outputFile: url.lastPathComponent)
        let writer = try StanCSVWriter(url: url, configuration: configuration, columnNames: ["lp__", "x"], flushEvery: 10)
        try writer.writeAdaptation(StanCSVAdaptation(stepSize: 0.9, metric: .unit))
        for draw in 0..<25 { try writer.writeDraw([-Double(draw), Double(draw) / 7]) }
        // The writer is still open: rows 20-24 sit in its buffer, 0-19 are on disk.
        let midRun = try StanCSVReader.read(url: url)
        #expect(midRun.drawCount == 20)
        #expect(midRun.column("x") == (0..<20).map { Double($0) / 7 })
        #expect(midRun.timing == nil)
        #expect(!midRun.droppedPartialFinalLine)
        #expect(midRun.adaptation == StanCSVAdaptation(stepSize: 0.9, metric: .unit))
        try writer.flush()
        #expect(try StanCSVReader.read(url: url).drawCount == 25)
        withExtendedLifetime(writer) {}
    }

    @Test func rejectsRowOfWrongLength() throws {
        let url = Self.temporaryFile("wrong.csv")
        let writer = try StanCSVWriter(url: url, configuration: StanCSVConfiguration(entries: []), columnNames: ["lp__", "x"])
        #expect(throws: StanCSVWriterError.wrongRowLength(path: url.path, expected: 2, found: 3)) {
            try writer.writeDraw([1, 2, 3])
        }
    }
}
