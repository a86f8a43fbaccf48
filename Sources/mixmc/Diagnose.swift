import ArgumentParser
import ChainIO
import Diagnostics
import Foundation

/// `mixmc diagnose FILE...|DIR`: posterior summary, R-hat, ESS and sampler warnings for Stan CSV
/// chains (ours or CmdStan's).
struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarize Stan CSV chains: mean, sd, quantiles, R-hat, bulk/tail ESS, MCSE, and sampler warnings.",
        discussion: """
            Give one or more Stan CSV files (one chain each) or a directory, whose *.csv files are \
            read in name order. Sampler columns (ending in __) are not summarized except lp__; \
            group-level effects (r_...) only with --all. R-hat is the rank-normalized split R-hat \
            and ESS the bulk/tail ESS of Vehtari et al. (2021).
            """
    )

    @Argument(help: "Stan CSV files, or one directory of them.")
    var paths: [String]

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(name: .long, help: "Also summarize group-level effects (r_... columns).")
    var all = false

    mutating func run() throws {
        let files = try Self.resolveFiles(paths)
        var chains: [StanCSVChain] = []
        for file in files {
            do {
                chains.append(try StanCSVReader.read(url: file))
            } catch let error as StanCSVReadError {
                throw ValidationFailure(error.description)
            }
        }
        try Self.refuseDuplicates(chains)
        for chain in chains {
            if chain.droppedPartialFinalLine {
                printError("note: \(chain.path) ends in the middle of a row (was its run killed while writing?); that row is left out")
            }
            if chain.timing == nil {
                printError("note: \(chain.path) has no timing trailer: the run that wrote it did not finish (killed, or still running); its \(chain.drawCount) draws are used as they are")
            }
        }
        let summary: RunSummary
        do {
            summary = try RunSummary(chains: chains, includeGroupLevel: all)
        } catch let error as RunSummaryError {
            throw ValidationFailure(error.description)
        }
        print(json ? Self.renderJSON(summary) : Self.renderTable(summary, files: files))
    }

    /// The same chain given twice would count as two chains and double the ESS: refused, whether
    /// it is the same file (by another path) or a copy (the same draws).
    static func refuseDuplicates(_ chains: [StanCSVChain]) throws {
        for (index, chain) in chains.enumerated() where chain.drawCount > 0 {
            if let earlier = chains[..<index].first(where: { $0.columnNames == chain.columnNames && $0.draws == chain.draws }) {
                throw ValidationFailure("\(earlier.path) and \(chain.path) hold the same draws; the same chain counted twice would double the ESS: give each chain once")
            }
        }
    }

    /// Files to read: every argument that is a file, and the sorted `*.csv` files of a directory;
    /// a file named twice (by any path) is refused.
    static func resolveFiles(_ paths: [String]) throws -> [URL] {
        let files = try listFiles(paths)
        var seen: [String: String] = [:]
        for file in files {
            let key = file.resolvingSymlinksInPath().standardizedFileURL.path
            if let earlier = seen[key] {
                throw ValidationFailure(earlier == file.path ? "\(file.path) is named twice; the same chain counted twice would double the ESS: give each file once"
                                                             : "\(earlier) and \(file.path) are the same file; the same chain counted twice would double the ESS: give each file once")
            }
            seen[key] = file.path
        }
        return files
    }

    private static func listFiles(_ paths: [String]) throws -> [URL] {
        var files: [URL] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationFailure("\(path): no such file or directory")
            }
            if isDirectory.boolValue {
                let names = (try? manager.contentsOfDirectory(atPath: path)) ?? []
                let csvNames = names.filter { $0.lowercased().hasSuffix(".csv") }.sorted()
                guard !csvNames.isEmpty else { throw ValidationFailure("\(path): directory holds no .csv files") }
                files += csvNames.map { URL(fileURLWithPath: path).appendingPathComponent($0) }
            } else {
                files.append(URL(fileURLWithPath: path))
            }
        }
        return files
    }

    static func renderTable(_ summary: RunSummary, files: [URL]) -> String {
        let headers = ["parameter", "mean", "sd", "5%", "50%", "95%", "R-hat", "ess_bulk", "ess_tail", "mcse_mean"]
        var rows: [[String]] = []
        for parameter in summary.parameters {
            rows.append([parameter.name,
                         number(parameter.mean), number(parameter.standardDeviation),
                         number(parameter.q5), number(parameter.q50), number(parameter.q95),
                         fixed(parameter.rhat, digits: 3), fixed(parameter.essBulk, digits: 0),
                         fixed(parameter.essTail, digits: 0), number(parameter.mcseMean)])
        }
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max()!
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                            : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
        var output = ["\(summary.chainCount) chain(s) x \(summary.drawsPerChain) draws from \(files.count) file(s)", ""]
        output.append(line(headers))
        output += rows.map(line)
        output.append("")
        if !summary.sampler.divergencesPerChain.isEmpty {
            output.append("Divergences: \(summary.sampler.totalDivergences) (per chain: \(summary.sampler.divergencesPerChain.map(String.init).joined(separator: ", ")))")
        }
        if !summary.sampler.treeDepthSaturationPerChain.isEmpty {
            output.append("Tree depth \(summary.sampler.maxDepth) reached: \(summary.sampler.totalTreeDepthSaturation) (per chain: \(summary.sampler.treeDepthSaturationPerChain.map(String.init).joined(separator: ", ")))")
        }
        if !summary.sampler.energyBFMIPerChain.isEmpty {
            output.append("E-BFMI per chain: \(summary.sampler.energyBFMIPerChain.map { fixed($0, digits: 2) }.joined(separator: ", "))")
        }
        if summary.warnings.isEmpty {
            output.append("No warnings.")
        } else {
            output.append("Warnings:")
            output += summary.warnings.map { "  - " + $0 }
        }
        return output.joined(separator: "\n")
    }

    static func number(_ value: Double) -> String {
        value.isNaN ? "NA" : String(format: "%.4g", value)
    }

    static func fixed(_ value: Double, digits: Int) -> String {
        value.isNaN ? "NA" : String(format: "%.\(digits)f", value)
    }

    /// One JSON object; NaN and infinities become `null`. Keys in a fixed, documented order.
    static func renderJSON(_ summary: RunSummary) -> String {
        func json(_ value: Double) -> String { value.isFinite ? value.description : "null" }
        func json(_ text: String) -> String {
            var escaped = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": escaped += "\\\""
                case "\\": escaped += "\\\\"
                case "\n": escaped += "\\n"
                case "\t": escaped += "\\t"
                default:
                    if scalar.value < 0x20 { escaped += String(format: "\\u%04x", scalar.value) } else { escaped.unicodeScalars.append(scalar) }
                }
            }
            return escaped + "\""
        }
        let parameters = summary.parameters.map { parameter in
            "    {" + [
                "\"name\": \(json(parameter.name))",
                "\"mean\": \(json(parameter.mean))",
                "\"sd\": \(json(parameter.standardDeviation))",
                "\"q5\": \(json(parameter.q5))",
                "\"q50\": \(json(parameter.q50))",
                "\"q95\": \(json(parameter.q95))",
                "\"rhat\": \(json(parameter.rhat))",
                "\"ess_bulk\": \(json(parameter.essBulk))",
                "\"ess_tail\": \(json(parameter.essTail))",
                "\"mcse_mean\": \(json(parameter.mcseMean))",
                "\"mcse_sd\": \(json(parameter.mcseSD))",
            ].joined(separator: ", ") + "}"
        }
        let sampler = summary.sampler
        let lines = [
            "{",
            "  \"parameters\": [\n" + parameters.joined(separator: ",\n") + "\n  ],",
            "  \"chains\": \(summary.chainCount),",
            "  \"draws_per_chain\": \(summary.drawsPerChain),",
            "  \"divergences\": \(sampler.totalDivergences),",
            "  \"divergences_per_chain\": [\(sampler.divergencesPerChain.map(String.init).joined(separator: ", "))],",
            "  \"max_depth\": \(sampler.maxDepth),",
            "  \"treedepth_saturation_per_chain\": [\(sampler.treeDepthSaturationPerChain.map(String.init).joined(separator: ", "))],",
            "  \"ebfmi_per_chain\": [\(sampler.energyBFMIPerChain.map(json).joined(separator: ", "))],",
            "  \"warnings\": [" + summary.warnings.map(json).joined(separator: ", ") + "]",
            "}",
        ]
        return lines.joined(separator: "\n")
    }
}

/// A user-facing error: ArgumentParser prints `Error: <message>` and exits with code 1 (64 for
/// usage errors), never a crash or a stack trace.
struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
