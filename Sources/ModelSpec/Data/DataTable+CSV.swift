import CSV
import Foundation

/// Reading CSV files into a `DataTable`.
///
/// Typing rules, chosen to match what R's `read.csv` followed by lme4 would see:
/// - The first row is the header; the other rows are data. Blank lines are skipped, as R does.
/// - A cell is **missing** if it is empty, `NA` or `NaN` (surrounding spaces ignored).
/// - A column is **numeric** if every non-missing cell is a decimal number (`parseNumber`) or
///   `Inf`/`-Inf`; quotes do not matter (R's `read.csv` reads `"308"` as a number too).
/// - A column is **numeric with stray text** if fewer than 1 % of its non-missing cells are not
///   numbers, or only one of ten or more is (a typo such as `3.o` among numbers): it is kept
///   numeric, and using it in a model is an error naming the first such cell
///   (`DataTable.checkCells`), never a silent factor.
/// - A column is **categorical** if more of its non-missing cells are not numbers (R's
///   `read.csv` would make it a factor too: mlmRev's `livch` with `0`, `1`, `2`, `3+`), or if the
///   caller lists it in `categorical` (grouping factors, or columns a model file declares as
///   factors). Its levels are ordered by `Factor.sortLevels`, which reproduces R's level order.
/// - Infinite cells, and finite ones of magnitude `CellProblem.largestMagnitude` or more, are
///   kept in numeric columns and reported by `checkCells` when a model uses the column.
extension DataTable {
    /// Reads a CSV file with a header row. See the extension's comment for the typing rules.
    /// `categorical`: columns the caller declares categorical even if their values are numbers;
    /// names that are not columns are ignored (the formula stage reports unknown names).
    /// Throws `DataError` for a missing, unreadable or empty file and for malformed contents.
    /// `relativeTo` says where a relative `path` starts, for the message when the file is missing
    /// (a model directory for model.toml's `data`); the current directory by default.
    /// Any readable stream is read: a pipe or process substitution (`--data <(zcat d.csv.gz)`)
    /// as well as a file.
    public static func read(path: String, categorical: Set<String> = [], relativeTo base: String? = nil) throws -> DataTable {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let start = base ?? "the current directory: \(FileManager.default.currentDirectoryPath)"
            throw DataError(file: path, message: "data file not found",
                            fix: "check the path (relative paths start at \(start))")
        }
        guard !isDirectory.boolValue else {
            throw DataError(file: path, message: "is a directory, not a data file",
                            fix: "give the path of a CSV file")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw DataError(file: path, message: "data file cannot be read (\(reason))",
                            fix: errno == EACCES ? "check the file's permissions" : "check that the path names a readable file")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        let bytes: Data
        do {
            bytes = try handle.readToEnd() ?? Data()
        } catch {
            throw DataError(file: path, message: "data file cannot be read (\(error.localizedDescription))",
                            fix: "check that the path names a readable file")
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw DataError(file: path, message: "data file is not UTF-8 text",
                            fix: "save the file as CSV in UTF-8 encoding")
        }
        return try parse(text: text, source: path, categorical: categorical)
    }

    /// Parses CSV text with a header row; `source` names the text in messages.
    public static func parse(text: String, source: String, categorical: Set<String> = []) throws -> DataTable {
        // A UTF-8 byte-order mark (spreadsheet exports) would otherwise end up in the first name.
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        guard body.contains(where: { !$0.isWhitespace }) else {
            throw DataError(file: source, message: "data file is empty",
                            fix: "the file needs a header row naming the columns, then one row per observation")
        }
        if let line = unclosedQuoteLine(body) {
            throw DataError(file: source, line: line,
                            message: "a quoted field opened on line \(line) is never closed (unbalanced '\"')",
                            fix: "add the closing quote on line \(line); write a quote inside a quoted field as \"\"")
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: body, hasHeaderRow: false)
        } catch {
            throw DataError(file: source, message: "cannot parse as CSV (\(error))",
                            fix: "save the file as comma-separated values")
        }

        // Skip blank lines before the header too.
        var line = 0
        var headerFields: [String]?
        while let fields = reader.next() {
            line += 1 + embeddedLineBreaks(fields)
            if !isBlank(fields) { headerFields = fields; break }
        }
        guard let header = headerFields else {
            throw DataError(file: source, message: "data file is empty",
                            fix: "the file needs a header row naming the columns, then one row per observation")
        }
        let headerLine = line
        try checkSeparator(header, source: source, line: headerLine)
        try checkHeader(header, source: source, line: headerLine)

        var builders = header.map { _ in ColumnBuilder() }
        var rowLines: [Int] = []
        while let fields = reader.next() {
            let recordLine = line + 1
            line += 1 + embeddedLineBreaks(fields)
            if isBlank(fields) { continue }
            guard fields.count == header.count else {
                throw DataError(file: source, line: recordLine,
                                message: "line \(recordLine) has \(fields.count) field\(fields.count == 1 ? "" : "s"), the header has \(header.count)",
                                fix: "check line \(recordLine) for a missing or extra comma; quote fields that contain commas")
            }
            for (index, field) in fields.enumerated() { builders[index].append(field) }
            rowLines.append(recordLine)
        }
        if let error = reader.error {
            throw DataError(file: source, line: line + 1, message: "cannot read the file after line \(line) (\(error))",
                            fix: "save the file as CSV in UTF-8 encoding")
        }

        var columns: [Column] = []
        var problems: [Int: DataError] = [:]
        for (position, (name, builder)) in zip(header, builders).enumerated() {
            let (column, problem) = builder.finish(declaredCategorical: categorical.contains(name))
            columns.append(column)
            if let problem {
                problems[position] = problem.error(file: source, line: rowLines[problem.row], column: name)
            }
        }
        return DataTable(source: source, columnNames: header, columns: columns, rowLines: rowLines, cellProblems: problems)
    }

    private static func checkHeader(_ header: [String], source: String, line: Int) throws {
        var firstPosition: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            let number = index + 1
            if name.trimmingSpaces().isEmpty {
                throw DataError(file: source, line: line, column: "#\(number)",
                                message: "column \(number) has no name in the header",
                                fix: "give every column a name in the first row")
            }
            if let earlier = firstPosition[name] {
                throw DataError(file: source, line: line, column: name,
                                message: "duplicate column name '\(name)' (columns \(earlier) and \(number))",
                                fix: "rename one of the columns so that every name is unique")
            }
            firstPosition[name] = number
        }
    }

    /// A header read as one column that holds `;` or tabs: the file uses another separator
    /// (spreadsheets in many locales write `;`), which would otherwise give a mangled column list.
    private static func checkSeparator(_ header: [String], source: String, line: Int) throws {
        guard header.count == 1, let name = header.first else { return }
        for (separator, label) in [(";", "semicolon"), ("\t", "tab")] where name.contains(separator) {
            throw DataError(file: source, line: line,
                            message: "the header is one column '\(name.replacingOccurrences(of: "\t", with: "\\t"))': the file looks \(label)-separated; mixmc reads comma-separated files",
                            fix: "save the file as comma-separated values (CSV with ',' between fields and '.' as the decimal mark), e.g. in R: write.csv(d, \"data.csv\", row.names = FALSE)")
        }
    }

    /// The line on which a quoted field opens that no closing quote ends, or nil. Quotes pair up
    /// in valid CSV (`""` inside a quoted field toggles twice), so an odd count means the reader
    /// would take the rest of the file as one field. Pairing quotes from the start would blame the
    /// last quote of the file (a stray quote on line 6 pairs with the next quoted field's opening
    /// quote, and that field's closing quote is left over), so the line reported is the first one
    /// holding an odd number of quotes: the only such line in a file without quoted line breaks.
    private static func unclosedQuoteLine(_ text: String) -> Int? {
        var total = 0, onLine = 0, line = 1
        var firstOddLine: Int?
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") {
                total += 1
                onLine += 1
            } else if byte == 10 {
                if onLine % 2 == 1 && firstOddLine == nil { firstOddLine = line }
                onLine = 0
                line += 1
            }
        }
        if onLine % 2 == 1 && firstOddLine == nil { firstOddLine = line }
        return total % 2 == 1 ? firstOddLine : nil
    }

    /// A blank line comes back from the reader as a single empty field.
    private static func isBlank(_ fields: [String]) -> Bool {
        fields.count == 1 && fields[0].trimmingSpaces().isEmpty
    }

    /// Line breaks inside quoted fields, so that line numbers in messages stay those of the file.
    private static func embeddedLineBreaks(_ fields: [String]) -> Int {
        var count = 0
        for field in fields {
            var previous: UInt8 = 0
            for byte in field.utf8 {
                // CRLF counts once: count LF, and CR only when no LF follows.
                if byte == 10 { count += 1 } else if previous == 13 { count += 1 }
                previous = byte
            }
            if previous == 13 { count += 1 }
        }
        return count
    }
}

/// Accumulates one column: each distinct cell text is interned once, so numbers are parsed and
/// labels sorted once per distinct value rather than once per row.
private struct ColumnBuilder {
    var codes: [Int32] = []
    var lookup: [String: Int32] = [:]
    var labels: [String] = []

    mutating func append(_ field: String) {
        if let code = lookup[field] {
            codes.append(code)
        } else {
            let code = Int32(labels.count)
            lookup[field] = code
            labels.append(field)
            codes.append(code)
        }
    }

    /// The column, and the first cell a model cannot use (see the typing rules above).
    func finish(declaredCategorical: Bool) -> (Column, CellProblem?) {
        let kinds = labels.map(CellKind.init)
        if !declaredCategorical {
            var counts = [Int](repeating: 0, count: labels.count)
            for code in codes { counts[Int(code)] += 1 }
            var textCells = 0, presentCells = 0
            for (index, kind) in kinds.enumerated() {
                if case .missing = kind { continue }
                presentCells += counts[index]
                if case .text = kind { textCells += counts[index] }
            }
            // Stray text: under 1 % of the cells, or a single cell among ten or more (a typo in a
            // small file is as likely as in a large one).
            let strayText = textCells * 100 < presentCells || (textCells == 1 && presentCells >= 10)
            if strayText || (textCells == 0 && presentCells == 0) {
                let values = kinds.map { kind -> Double in
                    if case .number(let value) = kind { return value }
                    return .nan
                }
                return (.numeric(codes.map { values[Int($0)] }), firstProblem(kinds: kinds, textCells: textCells, presentCells: presentCells))
            }
        }
        let missing = kinds.map { kind -> Bool in
            if case .missing = kind { return true }
            return false
        }
        let present = labels.indices.filter { !missing[$0] }.map { labels[$0] }
        let levels = Factor.sortLevels(present)
        var levelOf: [String: Int32] = [:]
        for (index, label) in levels.enumerated() { levelOf[label] = Int32(index) }
        let recode = labels.indices.map { index -> Int32 in
            missing[index] ? -1 : (levelOf[labels[index]] ?? -1)
        }
        return (.categorical(Factor(levels: levels, codes: codes.map { recode[Int($0)] })), nil)
    }

    /// The first row (in file order) whose cell is text, infinite or too large, in a column read
    /// as numeric.
    private func firstProblem(kinds: [CellKind], textCells: Int, presentCells: Int) -> CellProblem? {
        for (row, code) in codes.enumerated() {
            let label = labels[Int(code)]
            switch kinds[Int(code)] {
            case .text:
                return CellProblem(row: row, text: label.trimmingSpaces(), kind: .text(cells: textCells, of: presentCells))
            case .number(let value) where value.isInfinite:
                return CellProblem(row: row, text: label.trimmingSpaces(), kind: .infinite)
            case .number(let value) where abs(value) >= CellProblem.largestMagnitude:
                return CellProblem(row: row, text: label.trimmingSpaces(), kind: .tooLarge)
            default:
                continue
            }
        }
        return nil
    }
}

/// What one distinct cell text is, for typing a column.
private enum CellKind {
    /// Empty, `NA` or `NaN` (R's `read.csv` reads `NaN` as a number that `na.omit` drops).
    case missing
    /// A decimal number, or `Inf` / `-Inf` (infinite).
    case number(Double)
    case text

    init(_ label: String) {
        let trimmed = label.trimmingSpaces()
        switch trimmed {
        case "", "NA", "NaN", "nan", "NAN":
            self = .missing
        case "Inf", "+Inf", "inf", "Infinity", "infinity":
            self = .number(.infinity)
        case "-Inf", "-inf", "-Infinity", "-infinity":
            self = .number(-.infinity)
        default:
            self = parseNumber(trimmed).map { .number($0) } ?? .text
        }
    }
}

/// A cell of a numeric column that a model cannot use; reported by `DataTable.checkCells` only
/// when a model uses the column, so that a stray cell in an unused column does not get in the way.
struct CellProblem {
    enum Kind {
        /// Text among numbers: `cells` text cells of `of` non-missing ones (fewer than 1 %).
        case text(cells: Int, of: Int)
        case infinite
        case tooLarge
    }

    /// Values at least this large in magnitude are refused: the cross-products square them and
    /// their sums overflow long before 1e308, and no measurement is that large.
    static let largestMagnitude = 1e100

    let row: Int
    let text: String
    let kind: Kind

    func error(file: String, line: Int, column: String) -> DataError {
        switch kind {
        case .text(let cells, let present):
            return DataError(file: file, line: line, column: column,
                             message: "column \(column) is numeric but for '\(text)' at line \(line) (\(cells) of \(present) cells not numbers)",
                             fix: "correct the cell (write a missing value as NA), or declare \(column) categorical (--categorical \(column), or categorical = [\"\(column)\"] in model.toml) to read every value as a level")
        case .infinite:
            return DataError(file: file, line: line, column: column,
                             message: "column \(column) is infinite at line \(line) ('\(text)'); a model needs finite values",
                             fix: "correct the cell, or write NA to leave the row out")
        case .tooLarge:
            return DataError(file: file, line: line, column: column,
                             message: "column \(column) holds \(text) at line \(line), too large to use (values of 1e100 or more overflow the sums of squares)",
                             fix: "correct the cell; if such values are real, rescale the column (e.g. divide by 1e6)")
        }
    }
}
