/// The line on which each key of a TOML document is written, by key path, so errors about a
/// value can point at its line (TOMLKit gives positions for syntax errors only).
///
/// A light scan of a document that TOMLKit has already accepted: table headers (`[tau.Subject]`,
/// `[[x]]`) set the current table, `key = value` lines (dotted and quoted keys included) record
/// the key, and inline tables record their keys on their own line. Values are skipped; arrays
/// are skipped whole. Internal: used by the priors reader only.
struct TOMLKeyLines {
    private var lines: [[String]: Int] = [:]

    init(text: String) {
        var scanner = Scanner(tokens: Self.tokens(of: text))
        lines = scanner.scanDocument()
    }

    /// The line of `path`, or of its nearest ancestor that has one; nil when none does.
    func line(of path: [String]) -> Int? {
        var prefix = path
        while !prefix.isEmpty {
            if let line = lines[prefix] { return line }
            prefix.removeLast()
        }
        return nil
    }

    /// The line of exactly `path`, if it is written in the document.
    func exactLine(of path: [String]) -> Int? { lines[path] }

    // MARK: Tokens

    enum Token: Equatable {
        case word(String)          // a bare key or part of a value: numbers, booleans, dates
        case string(String)        // a quoted string, unescaped enough for keys
        case symbol(Character)     // = [ ] { } , .
        case newline
    }

    /// Characters that end a bare word. A set, not a string: in a string "\r\n" is one Character.
    static let wordEnds: Set<Character> = [" ", "\t", "\r", "\n", "\r\n", "#", "=", "[", "]", "{", "}", ",", ".", "\"", "'"]

    static func isNewline(_ character: Character) -> Bool { character == "\n" || character == "\r\n" }

    static func tokens(of text: String) -> [(token: Token, line: Int)] {
        let characters = Array(text)
        var result: [(Token, Int)] = []
        var line = 1
        var index = 0
        func peek(_ offset: Int) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "\n", "\r\n":
                result.append((.newline, line))
                line += 1
                index += 1
            case " ", "\t", "\r":
                index += 1
            case "#":
                while index < characters.count && !Self.isNewline(characters[index]) { index += 1 }
            case "=", "[", "]", "{", "}", ",", ".":
                result.append((.symbol(character), line))
                index += 1
            case "\"", "'":
                let startLine = line
                let multiline = peek(1) == character && peek(2) == character
                let quoteLength = multiline ? 3 : 1
                index += quoteLength
                var value = ""
                while index < characters.count {
                    let current = characters[index]
                    if multiline ? (current == character && peek(1) == character && peek(2) == character) : current == character {
                        index += quoteLength
                        break
                    }
                    if Self.isNewline(current) { line += 1 }
                    if current == "\\" && character == "\"", let next = peek(1) {
                        value.append(next)
                        if Self.isNewline(next) { line += 1 }
                        index += 2
                        continue
                    }
                    value.append(current)
                    index += 1
                }
                result.append((.string(value), startLine))
            default:
                var word = ""
                while index < characters.count, !Self.wordEnds.contains(characters[index]) {
                    word.append(characters[index])
                    index += 1
                }
                result.append((.word(word), line))
            }
        }
        return result
    }

    // MARK: Structure

    private struct Scanner {
        let tokens: [(token: Token, line: Int)]
        var position = 0
        var lines: [[String]: Int] = [:]

        init(tokens: [(token: Token, line: Int)]) { self.tokens = tokens }

        var current: Token? { position < tokens.count ? tokens[position].token : nil }
        var currentLine: Int { position < tokens.count ? tokens[position].line : (tokens.last?.line ?? 1) }

        /// Records `path` and every prefix not yet seen: `[tau.Subject]` also writes `tau`.
        mutating func record(_ path: [String], line: Int) {
            for length in 1...max(path.count, 1) where length <= path.count {
                let prefix = Array(path.prefix(length))
                if lines[prefix] == nil { lines[prefix] = line }
            }
        }

        mutating func scanDocument() -> [[String]: Int] {
            var table: [String] = []
            while let token = current {
                switch token {
                case .newline:
                    position += 1
                case .symbol("["):
                    let line = currentLine
                    position += 1
                    if current == .symbol("[") { position += 1 }
                    table = readKey()
                    record(table, line: line)
                    skipLine()
                case .word, .string:
                    let line = currentLine
                    let key = table + readKey()
                    record(key, line: line)
                    if current == .symbol("=") {
                        position += 1
                        scanValue(at: key)
                    }
                    skipLine()
                case .symbol:
                    position += 1
                }
            }
            return lines
        }

        /// A dotted key: parts separated by `.`.
        mutating func readKey() -> [String] {
            var parts: [String] = []
            while let token = current {
                switch token {
                case .word(let text), .string(let text):
                    parts.append(text)
                    position += 1
                    if current == .symbol(".") { position += 1 } else { return parts }
                default:
                    return parts
                }
            }
            return parts
        }

        mutating func scanValue(at path: [String]) {
            switch current {
            case .symbol("{"):
                position += 1
                while let token = current {
                    if token == .symbol("}") { position += 1; return }
                    if token == .symbol(",") || token == .newline { position += 1; continue }
                    let line = currentLine
                    let keyParts = readKey()
                    if keyParts.isEmpty { position += 1; continue }
                    let key = path + keyParts
                    record(key, line: line)
                    if current == .symbol("=") {
                        position += 1
                        scanValue(at: key)
                    }
                }
            case .symbol("["):
                var depth = 0
                while let token = current {
                    position += 1
                    if token == .symbol("[") || token == .symbol("{") { depth += 1 }
                    if token == .symbol("]") || token == .symbol("}") {
                        depth -= 1
                        if depth == 0 { return }
                    }
                }
            default:
                while let token = current {
                    if token == .newline || token == .symbol(",") || token == .symbol("}") || token == .symbol("]") { return }
                    position += 1
                }
            }
        }

        mutating func skipLine() {
            while let token = current, token != .newline { position += 1 }
        }
    }
}
