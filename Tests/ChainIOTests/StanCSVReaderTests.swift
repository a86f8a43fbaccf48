import Foundation
import Testing
import ChainIO
import TestSupport

/// The reader on CmdStan-layout files (Tests/Fixtures/cmdstan, validated by CmdStanPy and read by
/// ArviZ in scripts/make_cmdstan_fixture.py) and on malformed input.
struct StanCSVReaderTests {
    static func reference() throws -> [String: Any] {
        try #require(Fixtures.json("cmdstan/reference.json") as? [String: Any])
    }

    @Test func readsCmdStanChain() throws {
        let chain = try StanCSVReader.read(url: Fixtures.url("cmdstan/sleepstudy-1.csv"))
        let reference = try Self.reference()
        #expect(chain.columnNames.count == 13)
        #expect(chain.columnNames.first == "lp__")
        #expect(chain.columnNames.last == "r_Subject.2.1")
        #expect(chain.drawCount == (reference["draws_per_chain"] as? Int))
        #expect(chain.warmupDraws.allSatisfy { $0.isEmpty })
        #expect(chain.config["num_samples"] == "100")
        #expect(chain.config["save_warmup"] == "false")
        #expect(chain.config["max_depth"] == "10")
        #expect(chain.config["metric"] == "diag_e")
        #expect(chain.config["id"] == "1")
        #expect(chain.configuration.qualifiedValues["data.file"] == "sleepstudy.json")
        #expect(chain.configuration.qualifiedValues["output.file"] == "sleepstudy-1.csv")
        #expect(chain.configuration.qualifiedValues["method.sample.algorithm.hmc.engine.nuts.max_depth"] == "10")
        let defaultEntry = chain.configuration.entries.first { $0.key == "thin" }
        #expect(defaultEntry?.isDefault == true)
        #expect(defaultEntry?.depth == 2)

        let stepSizes = try #require(reference["cmdstanpy_step_size"] as? [Double])
        let adaptation = try #require(chain.adaptation)
        #expect(adaptation.stepSize == stepSizes[0])
        guard case let .diagonal(values) = adaptation.metric else {
            Issue.record("expected a diagonal metric, got \(adaptation.metric)")
            return
        }
        #expect(values.count == 6)
        #expect(values.first == 1.36911)
        #expect(chain.timing == StanCSVTiming(warmupSeconds: 0.071, samplingSeconds: 0.064, totalSeconds: 0.135))
        // First data line of the file, as printed by the fixture script.
        #expect(chain.column("lp__")?.first == -882.993)
        #expect(chain.column("r_Subject.2.1")?.first == -70.8042)
        // CmdStanPy's divergence count for this file.
        let divergences = try #require(reference["cmdstanpy_divergences"] as? [Int])
        #expect(chain.column("divergent__")?.filter { $0 == 1 }.count == divergences[0])
    }

    @Test func raggedRowNamesFileAndLine() throws {
        let text = "# num_samples = 2\nlp__,a\n1,2\n3\n"
        #expect(throws: StanCSVReadError.raggedRow(path: "bad.csv", line: 4, expected: 2, found: 1)) {
            try StanCSVReader.read(text: text, path: "bad.csv")
        }
        let error = StanCSVReadError.raggedRow(path: "bad.csv", line: 4, expected: 2, found: 1)
        #expect(error.description == "bad.csv:4: expected 2 cells as in the header, found 1")
    }

    /// `keeping` returns only the columns it accepts, with the values a full read gives (CmdStan's
    /// sampler columns and `lp__` before the parameters, as `mixmc sample` keeps them), still
    /// refuses a ragged row, and leaves the cells it skips unparsed.
    @Test func keepingReadsOnlyTheAcceptedColumns() throws {
        let url = Fixtures.url("cmdstan/sleepstudy-1.csv")
        let full = try StanCSVReader.read(url: url)
        let kept = try StanCSVReader.read(url: url, keeping: { !$0.hasPrefix("r_") })
        #expect(kept.columnNames == full.columnNames.filter { !$0.hasPrefix("r_") })
        for (index, name) in kept.columnNames.enumerated() {
            #expect(kept.draws[index] == full.column(name), "\(name)")
        }
        #expect(kept.adaptation == full.adaptation)
        #expect(kept.timing == full.timing)

        let notLast = try StanCSVReader.read(text: "lp__,r_a,b\n1,x,2\n3,y,4\n", path: "kept.csv", keeping: { $0 != "r_a" })
        #expect(notLast.columnNames == ["lp__", "b"])
        #expect(notLast.draws == [[1, 3], [2, 4]])
        #expect(throws: StanCSVReadError.raggedRow(path: "kept.csv", line: 3, expected: 3, found: 4)) {
            try StanCSVReader.read(text: "lp__,b,r_a\n1,2,3\n1,2,3,4\n", path: "kept.csv", keeping: { !$0.hasPrefix("r_") })
        }
    }

    @Test func nonNumericCellNamesColumn() throws {
        let text = "lp__,sigma\n1,2\n3,abc\n4,5\n"
        #expect(throws: StanCSVReadError.nonNumericCell(path: "bad.csv", line: 3, column: "sigma", text: "abc")) {
            try StanCSVReader.read(text: text, path: "bad.csv")
        }
    }

    @Test func missingHeader() throws {
        #expect(throws: StanCSVReadError.missingHeader(path: "empty.csv")) {
            try StanCSVReader.read(text: "# only comments\n", path: "empty.csv")
        }
    }

    @Test func missingFileIsAnError() throws {
        #expect(throws: StanCSVReadError.self) {
            try StanCSVReader.read(url: URL(fileURLWithPath: "/nonexistent/chain.csv"))
        }
    }

    @Test func nonFiniteSpellings() throws {
        let text = "lp__,x\n1,nan\n2,NaN\n3,inf\n4,-inf\n5,+inf\n6,1e-300\n"
        let chain = try StanCSVReader.read(text: text, path: "t.csv")
        let x = try #require(chain.column("x"))
        #expect(x[0].isNaN && x[1].isNaN)
        #expect(x[2] == .infinity && x[3] == -.infinity && x[4] == .infinity)
        #expect(x[5] == 1e-300)
    }

    @Test func commentsBetweenRowsAreSkipped() throws {
        let text = "lp__,x\n1,2\n# a note in the middle\n3,4\n\n5,6\n"
        let chain = try StanCSVReader.read(text: text, path: "t.csv")
        #expect(chain.column("x") == [2, 4, 6])
    }

    /// A file cut in the middle of a data line (a copy taken while the sampler was writing) keeps
    /// every whole row and drops the partial one.
    @Test func fileCutMidLineKeepsWholeRows() throws {
        let full = try Fixtures.text("cmdstan/sleepstudy-2.csv")
        let lines = full.split(separator: "\n", omittingEmptySubsequences: false)
        let firstDataLine = try #require(lines.firstIndex { $0.hasPrefix("-") })
        // 30 whole data rows, then half of the 31st.
        let whole = lines[..<(firstDataLine + 30)].joined(separator: "\n") + "\n"
        let partialRow = lines[firstDataLine + 30]
        let cut = whole + partialRow.prefix(partialRow.count / 2)
        let chain = try StanCSVReader.read(text: String(cut), path: "cut.csv")
        #expect(chain.drawCount == 30)
        #expect(chain.droppedPartialFinalLine)
        #expect(chain.timing == nil)
        #expect(chain.adaptation != nil)
        let complete = try StanCSVReader.read(url: Fixtures.url("cmdstan/sleepstudy-2.csv"))
        for column in chain.columnNames.indices {
            #expect(chain.draws[column] == Array(complete.draws[column].prefix(30)))
        }
    }

    /// With save_warmup = 1 the rows before the adaptation block are warmup, not draws.
    @Test func savedWarmupRowsAreSeparated() throws {
        let text = """
            # num_samples = 3
            # num_warmup = 2
            # save_warmup = 1
            lp__,x
            -1,10
            -2,20
            # Adaptation terminated
            # Step size = 0.5
            # Diagonal elements of inverse mass matrix:
            # 1.5
            -3,1
            -4,2
            -5,3

            """
        let chain = try StanCSVReader.read(text: text, path: "w.csv")
        #expect(chain.warmupDraws[1] == [10, 20])
        #expect(chain.column("x") == [1, 2, 3])
        #expect(chain.adaptation == StanCSVAdaptation(stepSize: 0.5, metric: .diagonal([1.5])))
    }

    /// Without an adaptation block (an interrupted run, or thinning) CmdStan's count applies:
    /// ceil(num_warmup / thin) warmup rows.
    @Test func warmupCountFromConfigurationWithoutAdaptationBlock() throws {
        let text = "# num_warmup = 5\n# save_warmup = 1\n# thin = 2\nlp__\n1\n2\n3\n4\n5\n"
        let chain = try StanCSVReader.read(text: text, path: "w.csv")
        #expect(chain.warmupDraws[0] == [1, 2, 3])
        #expect(chain.column("lp__") == [4, 5])
    }

    @Test func denseMetric() throws {
        let text = """
            lp__,a,b
            # Adaptation terminated
            # Step size = 0.25
            # Elements of inverse mass matrix:
            # 2, 0.5
            # 0.5, 3
            1,2,3

            """
        let chain = try StanCSVReader.read(text: text, path: "d.csv")
        #expect(chain.adaptation == StanCSVAdaptation(stepSize: 0.25, metric: .dense([[2, 0.5], [0.5, 3]])))
        #expect(chain.drawCount == 1)
    }
}
