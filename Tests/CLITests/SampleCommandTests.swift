import ChainIO
import Foundation
import Testing
import TestSupport

/// `mixmc sample` end to end: the built executable on models/sleepstudy.
@Suite struct SampleCommandTests {
    static func temporaryDirectory(_ tag: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-sample-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A chain file without what legitimately differs between two runs of the same chain: the
    /// timing trailer (wall-clock seconds) and the `output.file` line (the path asked for).
    /// Two 2-chain runs with the same seed wrote the same chains (timing aside), chain 2 run alone
    /// wrote chain 2 of them, and the two chains differ.
    static func expectReproducible(first: URL, second: URL, chainTwoAlone single: URL) throws {
        for id in 1...2 {
            let name = "chain-\(id).csv"
            #expect(try reproducibleContent(first.appendingPathComponent(name))
                    == reproducibleContent(second.appendingPathComponent(name)))
        }
        let chain2 = try reproducibleContent(first.appendingPathComponent("chain-2.csv"))
        #expect(try reproducibleContent(single.appendingPathComponent("chain-2.csv")) == chain2)
        #expect(try reproducibleContent(first.appendingPathComponent("chain-1.csv")) != chain2)
    }

    static func reproducibleContent(_ url: URL) throws -> String {
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let trailerStart = try #require(lines.firstIndex { $0.hasPrefix("#  Elapsed Time:") }) - 1
        #expect(lines[trailerStart] == "# ")
        return lines[..<trailerStart].filter { !($0.hasPrefix("#   file = ") && $0.hasSuffix(".csv")) }.joined(separator: "\n")
    }

    static let sleepstudyLevels = ["308", "309", "310", "330", "331", "332", "333", "334", "335", "337", "349", "350",
                                   "351", "352", "369", "370", "371", "372"]

    /// `--save-warmup` (NUTS) writes ceil(warmup / thin) warmup rows, then the adaptation block,
    /// then the draws, says `save_warmup = 1`, and changes nothing else: the kept draws are the
    /// bits of the same run without it, on both targets.
    @Test(arguments: ["collapsed", "full"])
    func savedWarmupPrecedesTheSameDraws(target: String) throws {
        var chains: [StanCSVChain] = []
        for save in [true, false] {
            let output = try Self.temporaryDirectory("warmup")
            defer { try? FileManager.default.removeItem(at: output) }
            let result = try runMixmc(["sample", "models/sleepstudy", "--algorithm", "nuts", "--target", target, "--chains", "1",
                                       "--warmup", "30", "--draws", "20", "--thin", "3", "--seed", "3", "--quiet",
                                       "--output", output.path] + (save ? ["--save-warmup"] : []))
            #expect(result.status == 0, "stderr: \(result.standardError)")
            let url = output.appendingPathComponent("chain-1.csv")
            let chain = try StanCSVReader.read(url: url)
            #expect(chain.config["save_warmup"] == (save ? "1" : "0"))
            #expect(chain.drawCount == 7)
            #expect(chain.warmupDraws.first?.count ?? 0 == (save ? 10 : 0))
            if save {
                let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
                let header = try #require(lines.firstIndex { $0.hasPrefix("lp__,") })
                let adaptation = try #require(lines.firstIndex { $0.hasPrefix("# Adaptation terminated") })
                #expect(adaptation == header + 11, "10 warmup rows between the header and the adaptation block")
            }
            chains.append(chain)
        }
        #expect(chains[0].draws == chains[1].draws)
    }

    @Test func sleepstudyChainsReadBackWithTheirColumnsAndASanePosterior() throws {
        let output = try Self.temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try runMixmc(["sample", "models/sleepstudy", "--chains", "2", "--warmup", "200", "--draws", "300",
                                   "--seed", "1", "--output", output.path])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardError.contains("2 chains: 200 warmup + 300 draws, seed 1"))
        #expect(result.standardError.contains("sd_Subject__Days ~ half-cauchy(0, 100)"))
        #expect(result.standardError.contains("models/sleepstudy/priors.toml"))

        let expectedColumns = ["lp__", "b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept", "sd_Subject__Days",
                               "cor_Subject__Intercept__Days"]
            + (1...2).flatMap { c in (1...18).map { h in "r_Subject.\(h).\(c)" } }
        var chains: [StanCSVChain] = []
        for id in 1...2 {
            let chain = try StanCSVReader.read(url: output.appendingPathComponent("chain-\(id).csv"))
            #expect(chain.columnNames == expectedColumns)
            #expect(chain.drawCount == 300)
            #expect(chain.timing != nil)
            #expect(chain.config["algorithm"] == "gibbs")
            #expect(chain.config["num_samples"] == "300" && chain.config["num_warmup"] == "200")
            #expect(chain.config["save_warmup"] == "0" && chain.config["thin"] == "1")
            #expect(chain.config["seed"] == "1" && chain.config["id"] == String(id))
            #expect(chain.draws.allSatisfy { $0.allSatisfy(\.isFinite) })
            chains.append(chain)
        }
        // Posterior means near lme4's REML estimates (251.405, 10.467) within 3 posterior SDs: a
        // sanity check of the whole path, not a calibration test.
        for (name, reml) in [("b_Intercept", 251.405), ("b_Days", 10.467)] {
            let draws = chains.flatMap { $0.column(name)! }
            let mean = MonteCarlo.mean(draws)
            let sd = MonteCarlo.variance(draws).squareRoot()
            #expect(abs(mean - reml) < 3 * sd, "\(name): mean \(mean), sd \(sd), REML \(reml)")
        }
        // r_Subject.1.2 is subject 308's Days effect: its posterior mean sits near lme4's
        // conditional mode 9.199, which a wrong index map (another subject or the intercept) misses.
        let r308 = chains.flatMap { $0.column("r_Subject.1.2")! }
        #expect(abs(MonteCarlo.mean(r308) - 9.199) < 3 * MonteCarlo.variance(r308).squareRoot())
        // The summary table on stdout, without r_ columns.
        #expect(result.standardOutput.contains("2 chain(s) x 300 draws from 2 file(s)"))
        #expect(result.standardOutput.split(separator: "\n").contains { $0.hasPrefix("sd_Subject__Days ") })
        #expect(!result.standardOutput.split(separator: "\n").contains { $0.hasPrefix("r_") })
        #expect(result.standardOutput.contains("minimum bulk ESS over b_, sigma, sd_"))

        // labels.json names every column; r_ columns map to (group, level, coefficient).
        let labels = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("labels.json"))) as? [String: Any])
        let columns = try #require(labels["columns"] as? [String: [String: Any]])
        #expect(Set(columns.keys) == Set(expectedColumns))
        for (c, coefficient) in ["(Intercept)", "Days"].enumerated() {
            for (h, level) in Self.sleepstudyLevels.enumerated() {
                let entry = try #require(columns["r_Subject.\(h + 1).\(c + 1)"])
                #expect(entry["kind"] as? String == "r" && entry["group"] as? String == "Subject")
                #expect(entry["level"] as? String == level && entry["coefficient"] as? String == coefficient)
            }
        }
        #expect(columns["b_Intercept"]?["coefficient"] as? String == "(Intercept)")
        // The same map in each file's comments.
        let text = try String(contentsOf: output.appendingPathComponent("chain-1.csv"), encoding: .utf8)
        #expect(text.contains("# r_Subject: group Subject; coefficients 1 (Intercept) 2 Days\n"))
        #expect(text.contains("# r_Subject levels: 1 308; 2 309; 3 310;"))
    }

    @Test func sameSeedGivesTheSameChainsAndOneChainAloneReproducesIt() throws {
        let first = try Self.temporaryDirectory("a")
        let second = try Self.temporaryDirectory("b")
        let single = try Self.temporaryDirectory("c")
        defer { for url in [first, second, single] { try? FileManager.default.removeItem(at: url) } }
        let common = ["sample", "models/sleepstudy", "--warmup", "50", "--draws", "100", "--seed", "2024", "--quiet"]
        for output in [first, second] {
            let result = try runMixmc(common + ["--chains", "2", "--output", output.path])
            #expect(result.status == 0, "stderr: \(result.standardError)")
        }
        let alone = try runMixmc(common + ["--chain", "2", "--output", single.path])
        #expect(alone.status == 0, "stderr: \(alone.standardError)")
        #expect(!FileManager.default.fileExists(atPath: single.appendingPathComponent("chain-1.csv").path))

        try Self.expectReproducible(first: first, second: second, chainTwoAlone: single)
        #expect(try Data(contentsOf: first.appendingPathComponent("labels.json"))
                == Data(contentsOf: single.appendingPathComponent("labels.json")))
    }

    @Test(arguments: [
        (["--chains", "0"], "--chains must be at least 1; got 0"),
        (["--chain", "0"], "--chain must be at least 1; got 0"),
        (["--chains", "2", "--chain", "1"], "give --chains N for a run of N chains or --chain K for chain K alone, not both"),
        (["--warmup=-1"], "--warmup must be 0 or more; got -1"),
        (["--draws=-5"], "--draws must be at least 1; got -5"),
        (["--draws", "0"], "--draws must be at least 1; got 0"),
        (["--thin", "0"], "--thin must be at least 1; got 0"),
        (["--save-warmup"], "--save-warmup applies to --algorithm nuts only: CmdStanPy would read a Gibbs file's warmup rows as draws; to keep the Gibbs warmup, run with --warmup 0 and --draws W+D and drop the first W rows yourself"),
        // NUTS settings: only with --algorithm nuts, and in range.
        (["--target", "full"], "--target apply to --algorithm nuts only"),
        (["--metric", "dense", "--max-depth", "5"], "--max-depth, --metric apply to --algorithm nuts only"),
        (["--algorithm", "nuts", "--adapt-delta", "1"], "--adapt-delta must be between 0 and 1 (exclusive); got 1.0"),
        (["--algorithm", "nuts", "--max-depth", "0"], "--max-depth must be at least 1; got 0"),
    ])
    func badFlagsAreRefusedBeforeAnythingIsWritten(flags: [String], message: String) throws {
        let parent = try Self.temporaryDirectory("flags")
        defer { try? FileManager.default.removeItem(at: parent) }
        let output = parent.appendingPathComponent("out")
        let result = try runMixmc(["sample", "models/sleepstudy", "--output", output.path] + flags)
        #expect(result.status == 64)
        #expect(result.standardError.contains("Error: \(message)"), "stderr: \(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func existingChainFilesAreKeptUnlessOverwriteIsGiven() throws {
        let output = try Self.temporaryDirectory("existing")
        defer { try? FileManager.default.removeItem(at: output) }
        let arguments = ["sample", "models/sleepstudy", "--chains", "2", "--warmup", "10", "--draws", "20", "--seed", "3",
                         "--quiet", "--output", output.path]
        #expect(try runMixmc(arguments).status == 0)
        let before = try Data(contentsOf: output.appendingPathComponent("chain-1.csv"))

        let refused = try runMixmc(arguments)
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("error: \(output.path): already holds chain files (chain-1.csv, chain-2.csv); pass --overwrite to replace them, or choose another --output"),
                "stderr: \(refused.standardError)")
        #expect(try Data(contentsOf: output.appendingPathComponent("chain-1.csv")) == before)

        // --overwrite replaces them, and removes chain files the new run does not write.
        try Data(before).write(to: output.appendingPathComponent("chain-7.csv"))
        let replaced = try runMixmc(arguments + ["--overwrite"])
        #expect(replaced.status == 0, "stderr: \(replaced.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("chain-7.csv").path))
        #expect(try StanCSVReader.read(url: output.appendingPathComponent("chain-2.csv")).drawCount == 20)
    }

    @Test func anOutputDirectoryThatCannotBeCreatedIsRefused() throws {
        let parent = try Self.temporaryDirectory("unwritable")
        defer { try? FileManager.default.removeItem(at: parent) }
        let file = parent.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let result = try runMixmc(["sample", "models/sleepstudy", "--output", file.appendingPathComponent("out").path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("error: \(file.path)/out: cannot create the output directory"), "stderr: \(result.standardError)")
        let notDirectory = try runMixmc(["sample", "models/sleepstudy", "--output", file.path])
        #expect(notDirectory.status == 1)
        #expect(notDirectory.standardError.contains("error: \(file.path): exists and is not a directory; choose another --output"))
    }

    /// Starts a run far too long to finish, waits until both chains are drawing, sends `signal`
    /// and checks the exit status, the message and that every file reads back whole.
    func interrupt(with signal: Int32, expectedStatus: Int32, name: String) throws {
        let output = try Self.temporaryDirectory("signal")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = Fixtures.mixmcExecutable
        process.arguments = ["sample", "models/sleepstudy", "--chains", "2", "--warmup", "100", "--draws", "100000000",
                             "--seed", "5", "--output", output.path]
        process.currentDirectoryURL = Fixtures.repositoryRoot
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = Pipe()
        try process.run()
        // Wait for sampling draws on disk (the header alone is written at once), then 0.5 s more.
        let deadline = Date().addingTimeInterval(30)
        let files = (1...2).map { output.appendingPathComponent("chain-\($0).csv") }
        while Date() < deadline, !files.allSatisfy({ ((try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0) > 20_000 }) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.5)
        kill(process.processIdentifier, signal)
        let stderr = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == expectedStatus, "stderr: \(stderr)")
        #expect(stderr.contains("interrupted (\(name)): every finished draw is in \(output.path)/"), "stderr: \(stderr)")
        for (id, file) in zip(1...2, files) {
            let chain = try StanCSVReader.read(url: file)
            #expect(!chain.droppedPartialFinalLine)
            #expect(chain.timing != nil)
            #expect(chain.drawCount > 0)
            #expect(stderr.contains("chain \(id): kept \(chain.drawCount) of 100000000 draws (warmup 100 of 100)"), "stderr: \(stderr)")
        }
    }

    @Test func sigintStopsEveryChainAndKeepsWholeRows() throws {
        try interrupt(with: SIGINT, expectedStatus: 130, name: "SIGINT")
    }

    @Test func sigtermStopsEveryChainAndKeepsWholeRows() throws {
        try interrupt(with: SIGTERM, expectedStatus: 143, name: "SIGTERM")
    }
}
