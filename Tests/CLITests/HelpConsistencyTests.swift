import Foundation
import Testing
import TestSupport

/// docs/cli.md against `mixmc <command> --help`: every subcommand has a `## mixmc <command>`
/// section, and the flags in that section's tables are exactly the flags `--help` lists.
@Suite struct HelpConsistencyTests {
    /// Flags every command has and docs/cli.md describes once, at the top.
    static let commonFlags: Set<String> = ["--help", "--version"]

    /// Subcommand names from `mixmc --help`'s SUBCOMMANDS section (ArgumentParser's layout: the
    /// name indented by two spaces, then its abstract after two or more spaces or on the lines
    /// below, which are indented further).
    static func subcommands() throws -> [String] {
        let help = try runMixmc(["--help"])
        #expect(help.status == 0)
        var names: [String] = []
        var inSection = false
        for line in help.standardOutput.split(separator: "\n", omittingEmptySubsequences: false) {
            if isSectionHeader(line) { inSection = line == "SUBCOMMANDS:"; continue }
            guard inSection, line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            let name = line.dropFirst(2).prefix { !$0.isWhitespace }
            // Skips the closing "See 'mixmc help <subcommand>' …" line.
            if let first = name.first, first.isLowercase, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }) {
                names.append(String(name))
            }
        }
        return names
    }

    static func isSectionHeader(_ line: Substring) -> Bool {
        line.hasSuffix(":") && !line.hasPrefix(" ") && line.dropLast().allSatisfy { $0.isUppercase || $0 == " " }
    }

    /// Every `--name` in the name column of an option line (`  -h, --help   Show…`,
    /// `  --data <data>   CSV…`, `  --blas-threads <blas-threads>` with the text on the next
    /// line, `  --flag/--no-flag`). The name column ends at the first run of two spaces.
    static func flags(inHelp help: String) -> Set<String> {
        var flags: Set<String> = []
        for line in help.split(separator: "\n") where line.hasPrefix("  -") {
            let body = line.dropFirst(2)
            let nameColumn = body.range(of: "  ").map { body[..<$0.lowerBound] } ?? body
            flags.formUnion(longFlags(in: nameColumn))
        }
        return flags
    }

    static func longFlags(in text: Substring) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let range = rest.range(of: "--") {
            let name = rest[range.upperBound...].prefix { $0.isLowercase || $0.isNumber || $0 == "-" }
            if let first = name.first, first.isLowercase || first.isNumber { found.append("--" + name) }
            rest = rest[range.upperBound...]
        }
        return found
    }

    /// docs/cli.md's sections: `## mixmc NAME` up to the next `## ` heading; in each, the flags
    /// named in the first cell of a table row (`| \`--draws N\` | … |`).
    static func documentedFlags() throws -> [String: Set<String>] {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
        var sections: [String: Set<String>] = [:]
        var current: String?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("## ") {
                let words = line.dropFirst(3).split(separator: " ")
                current = words.count == 2 && words[0] == "mixmc" ? String(words[1]) : nil
                if let current { sections[current] = sections[current] ?? [] }
                continue
            }
            guard let current, line.hasPrefix("|") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count > 2 else { continue }
            sections[current]!.formUnion(longFlags(in: cells[1]))
        }
        return sections
    }

    @Test func everySubcommandIsDocumentedWithExactlyItsFlags() throws {
        let commands = try Self.subcommands()
        #expect(commands.contains("fit") && commands.contains("sample") && commands.contains("diagnose"),
                "subcommands parsed from mixmc --help: \(commands)")
        let documented = try Self.documentedFlags()
        #expect(Set(documented.keys) == Set(commands),
                "docs/cli.md has sections for \(documented.keys.sorted()); mixmc --help lists \(commands)")
        for command in commands {
            let help = try runMixmc([command, "--help"])
            #expect(help.status == 0)
            let flags = Self.flags(inHelp: help.standardOutput).subtracting(Self.commonFlags)
            #expect(!flags.isEmpty || command == "diagnose", "no flags parsed from mixmc \(command) --help")
            let inDocs = documented[command] ?? []
            #expect(flags.subtracting(inDocs).isEmpty,
                    "mixmc \(command) --help lists \(flags.subtracting(inDocs).sorted()), missing under '## mixmc \(command)' in docs/cli.md")
            #expect(inDocs.subtracting(flags).isEmpty,
                    "docs/cli.md documents \(inDocs.subtracting(flags).sorted()) under '## mixmc \(command)', which mixmc \(command) --help does not list")
        }
    }

    /// The parser itself, on ArgumentParser's layouts, so a change of format fails here first.
    @Test func helpParserReadsArgumentParserLayouts() {
        let help = """
            OPTIONS:
              --data <data>           CSV file with a header row; see --formula.
              --blas-threads <blas-threads>
                                      OpenBLAS threads (--ml is unrelated).
              --color/--no-color      Colour.
              -h, --help              Show help information.
            """
        #expect(Self.flags(inHelp: help) == ["--data", "--blas-threads", "--color", "--no-color", "--help"])
    }
}
