import Foundation

/// One column as the CSV reader accumulates it, typed by the rules in `DataTable+CSV.swift`.
///
/// A column declared categorical interns every cell's bytes (`ByteInterner`) and keeps a code per
/// row. Any other column starts as numbers: each cell is parsed where it lies in the file
/// (`DecimalParser`) and kept as a double, text and missing cells as NaN. Whether the column
/// stays numeric depends on the share of text cells in the whole file, so from its first text
/// cell on it also interns every cell; if it ends categorical, the rows before that cell are read
/// again (`CSVParser.rescan`) for their labels. If a column that is still numbers by the rule has
/// more than `internLimit` distinct cells, interning stops (a numeric column with one typo does
/// not keep a table of its ten million values) and a column that nevertheless ends categorical is
/// read again whole.
struct ColumnBuilder {
    /// Distinct cells an undeclared column interns while it may still be numeric.
    static let internLimit = 1 << 16

    let declaredCategorical: Bool
    /// Per row, the value (NaN for missing or text); undeclared columns only.
    var values = GrowableBuffer<Double>()
    /// Per row from `internFromRow`, the label number in `interner`.
    var codes = GrowableBuffer<Int32>()
    var interner: ByteInterner?
    /// The first row interned, and the byte offset of its record.
    var internFromRow = 0
    var internFromOffset = 0
    /// Interning was given up (`internLimit`): a categorical outcome needs every row read again.
    var internAbandoned = false
    var textCells = 0
    var presentCells = 0
    var problem: CellProblemDraft?

    init(declaredCategorical: Bool) {
        self.declaredCategorical = declaredCategorical
        if declaredCategorical { interner = ByteInterner() }
    }

    /// A number parsed in place (`bytes` are its text, for interning; `readable` bytes may be read
    /// from there, see `ByteInterner.intern`).
    @inline(__always)
    mutating func appendNumber(_ value: Double, bytes: UnsafePointer<UInt8>, length: Int, readable: Int, row: Int) {
        values.append(value)
        presentCells += 1
        if !(abs(value) < CellProblem.largestMagnitude) && problem == nil {
            problem = CellProblemDraft(row: row, text: String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self),
                                       kind: value.isInfinite ? .infinite : .tooLarge)
        }
        if interner != nil { intern(bytes, length, readable) }
    }

    /// Any other cell: its unquoted content.
    @inline(__always)
    mutating func appendCell(_ bytes: UnsafePointer<UInt8>, length: Int, readable: Int, row: Int, recordOffset: Int) {
        if declaredCategorical {
            intern(bytes, length, readable)
            return
        }
        appendTypedCell(bytes, length: length, readable: readable, row: row, recordOffset: recordOffset)
    }

    private mutating func appendTypedCell(_ bytes: UnsafePointer<UInt8>, length: Int, readable: Int, row: Int, recordOffset: Int) {
        let trimmed = Self.trimmed(bytes, length)
        switch CellKind(bytes: UnsafeBufferPointer(start: bytes + trimmed.lowerBound, count: trimmed.count)) {
        case .missing:
            values.append(.nan)
        case .number(let value):
            values.append(value)
            presentCells += 1
            if !(abs(value) < CellProblem.largestMagnitude) && problem == nil {
                problem = CellProblemDraft(row: row, text: Self.text(bytes, trimmed), kind: value.isInfinite ? .infinite : .tooLarge)
            }
        case .text:
            values.append(.nan)
            presentCells += 1
            textCells += 1
            if problem == nil { problem = CellProblemDraft(row: row, text: Self.text(bytes, trimmed), kind: .text) }
            if interner == nil && !internAbandoned {
                interner = ByteInterner()
                internFromRow = row
                internFromOffset = recordOffset
            }
        }
        if interner != nil { intern(bytes, length, readable) }
    }

    @inline(__always)
    private mutating func intern(_ bytes: UnsafePointer<UInt8>, _ length: Int, _ readable: Int) {
        codes.append(interner!.intern(bytes, length, readable: readable))
        if !declaredCategorical && interner!.count > Self.internLimit {
            interner!.free()
            interner = nil
            codes.free()
            internAbandoned = true
        }
    }

    /// True when the column is numeric by the typing rule: stray text only (under 1 % of the
    /// cells, or a single cell among ten or more, since a typo in a small file is as likely as in
    /// a large one), or no values at all.
    var isNumeric: Bool {
        if declaredCategorical { return false }
        let strayText = textCells * 100 < presentCells || (textCells == 1 && presentCells >= 10)
        return strayText || (textCells == 0 && presentCells == 0)
    }

    /// Rows whose labels a categorical outcome still needs: those before `internFromRow`, or all.
    var rowsToRescan: Int? {
        guard !isNumeric else { return nil }
        if internAbandoned { return values.count }
        return internFromRow > 0 ? internFromRow : nil
    }

    mutating func free() {
        values.free()
        codes.free()
        interner?.free()
        interner = nil
    }

    static func trimmed(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> Range<Int> {
        var start = 0, end = length
        while start < end && (bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t")) { start += 1 }
        while end > start && (bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t")) { end -= 1 }
        return start..<end
    }

    private static func text(_ bytes: UnsafePointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: bytes + range.lowerBound, count: range.count), as: UTF8.self)
    }
}

/// The first unusable cell of a numeric column, before the counts it quotes are known.
struct CellProblemDraft {
    enum Kind { case text, infinite, tooLarge }
    let row: Int
    /// The cell without surrounding spaces.
    let text: String
    let kind: Kind

    func problem(textCells: Int, presentCells: Int) -> CellProblem {
        switch kind {
        case .text: return CellProblem(row: row, text: text, kind: .text(cells: textCells, of: presentCells))
        case .infinite: return CellProblem(row: row, text: text, kind: .infinite)
        case .tooLarge: return CellProblem(row: row, text: text, kind: .tooLarge)
        }
    }
}

/// What one cell (without surrounding spaces) is, for typing a column.
enum CellKind {
    /// Empty, `NA` or `NaN` (R's `read.csv` reads `NaN` as a number that `na.omit` drops).
    case missing
    /// A decimal number (`parseNumber`), or `Inf` / `-Inf` (infinite).
    case number(Double)
    case text

    init(bytes trimmed: UnsafeBufferPointer<UInt8>) {
        if trimmed.count <= 9, let word = Self.word(trimmed) {
            switch word {
            case "", "NA", "NaN", "nan", "NAN":
                self = .missing
                return
            case "Inf", "+Inf", "inf", "Infinity", "infinity":
                self = .number(.infinity)
                return
            case "-Inf", "-inf", "-Infinity", "-infinity":
                self = .number(-.infinity)
                return
            default:
                break
            }
        }
        self = DecimalParser.number(trimmed).map { .number($0) } ?? .text
    }

    /// A short ASCII cell as a string, for comparing with the missing and infinite spellings.
    private static func word(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    init(_ label: String) {
        var text = label.trimmingSpaces()
        self = text.withUTF8 { CellKind(bytes: $0) }
    }
}
