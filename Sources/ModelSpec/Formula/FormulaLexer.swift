/// A token of a formula, with its byte range in the source.
struct FormulaToken: Equatable {
    enum Kind: Equatable {
        case identifier(String)      // an R name or a backtick-quoted name (without the backticks)
        case number(Double)
        case tilde, plus, minus, star, slash, colon, caret, bar, doubleBar, comma, equals
        /// `%in%` (R's `a %in% b`, the same term as `a:b`).
        case within
        case leftParen, rightParen
        case end
    }
    let kind: Kind
    let start: Int
    let end: Int

    /// How the token reads in messages.
    var spelling: String {
        switch kind {
        case .identifier(let name): return name
        case .number(let value):
            // Whole numbers print without ".0"; the bound keeps Int(_:) from trapping on huge input.
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .tilde: return "~"
        case .plus: return "+"
        case .minus: return "-"
        case .star: return "*"
        case .slash: return "/"
        case .colon: return ":"
        case .caret: return "^"
        case .bar: return "|"
        case .doubleBar: return "||"
        case .comma: return ","
        case .equals: return "="
        case .within: return "%in%"
        case .leftParen: return "("
        case .rightParen: return ")"
        case .end: return "end of formula"
        }
    }
}

/// Splits formula text into tokens. Works on UTF-8 bytes so positions are byte offsets; bytes of
/// non-ASCII characters count as letters, as R allows letters of any script in names.
enum FormulaLexer {
    static func tokens(of text: String) throws -> [FormulaToken] {
        let bytes = Array(text.utf8)
        var tokens: [FormulaToken] = []
        var index = 0

        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte >= 0x80
        }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

        while index < bytes.count {
            let byte = bytes[index]
            let start = index
            let single: FormulaToken.Kind?
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                index += 1
                continue
            case UInt8(ascii: "~"): single = .tilde
            case UInt8(ascii: "+"): single = .plus
            case UInt8(ascii: "-"): single = .minus
            case UInt8(ascii: "*"): single = .star
            case UInt8(ascii: "/"): single = .slash
            case UInt8(ascii: ":"): single = .colon
            case UInt8(ascii: "^"): single = .caret
            case UInt8(ascii: ","): single = .comma
            case UInt8(ascii: "="): single = .equals
            case UInt8(ascii: "("): single = .leftParen
            case UInt8(ascii: ")"): single = .rightParen
            case UInt8(ascii: "|"):
                if index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "|") {
                    tokens.append(FormulaToken(kind: .doubleBar, start: start, end: start + 2))
                    index += 2
                    continue
                }
                single = .bar
            default:
                single = nil
            }
            if let kind = single {
                tokens.append(FormulaToken(kind: kind, start: start, end: start + 1))
                index += 1
                continue
            }

            if byte == UInt8(ascii: "%") {
                guard let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "%")) else {
                    throw FormulaError(formula: text, position: start, message: "unclosed '%': R's operators read %in%")
                }
                let spelled = string(index..<(close + 1))
                guard spelled == "%in%" else {
                    throw FormulaError(formula: text, position: start, message: "unknown operator '\(spelled)'; the formula operators are + - * / : ^ %in% | ||")
                }
                tokens.append(FormulaToken(kind: .within, start: start, end: close + 1))
                index = close + 1
                continue
            }

            if byte == UInt8(ascii: "`") {
                guard let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "`")) else {
                    throw FormulaError(formula: text, position: start, message: "unclosed backtick: a quoted name ends with '`'")
                }
                guard close > index + 1 else {
                    throw FormulaError(formula: text, position: start, message: "empty name between backticks")
                }
                tokens.append(FormulaToken(kind: .identifier(string((index + 1)..<close)), start: start, end: close + 1))
                index = close + 1
                continue
            }

            // A number: digits, or a '.' followed by a digit (R reads ".5" as a number, ".x" as a name).
            let startsNumber = isDigit(byte)
                || (byte == UInt8(ascii: ".") && index + 1 < bytes.count && isDigit(bytes[index + 1]))
            if startsNumber {
                var end = index
                while end < bytes.count && (isDigit(bytes[end]) || bytes[end] == UInt8(ascii: ".")) { end += 1 }
                guard let value = Double(string(index..<end)) else {
                    throw FormulaError(formula: text, position: start, message: "malformed number '\(string(index..<end))'")
                }
                tokens.append(FormulaToken(kind: .number(value), start: start, end: end))
                index = end
                continue
            }

            if isNameByte(byte) && byte != UInt8(ascii: "_") {
                var end = index
                while end < bytes.count && isNameByte(bytes[end]) { end += 1 }
                let name = string(index..<end)
                tokens.append(FormulaToken(kind: .identifier(name), start: start, end: end))
                index = end
                continue
            }

            let character = string(index..<min(index + 1, bytes.count))
            throw FormulaError(formula: text, position: start,
                               message: "unexpected character '\(character)'; quote unusual column names with backticks, e.g. `my name`")
        }
        tokens.append(FormulaToken(kind: .end, start: bytes.count, end: bytes.count))
        return tokens
    }
}
