import Foundation

/// The CSV reader: one pass over the bytes of a file, from bytes straight to typed columns.
///
/// Fields are split as the CSV.swift package split them (the reader mixmc used before, whose
/// results every test and example was checked against): `,` between fields; a record ends at LF,
/// CR LF or a lone CR; a field is quoted only if its first byte is `"`, and inside it `""` is a
/// quote, `"` before `,` or a line end closes it, and `"` before anything else is kept as a quote
/// while the character after it is dropped; a quote inside an unquoted field is an ordinary
/// character; an unclosed quoted field runs to the end of the file.
///
/// Only the columns in `wanted` are typed and kept; every field of every record is still split,
/// so field counts, quotes and line numbers are checked exactly as for a full read.
///
/// Messages are those of the reader before it: a file that is not UTF-8 (checked as the bytes
/// go by, `UTF8Check`), is empty, or has an unbalanced quote is reported as such even if a
/// malformed record comes first, so the pass goes on to the end of the file, checking only, after
/// the first malformed record.
struct CSVParser {
    let base: UnsafePointer<UInt8>
    let count: Int
    let source: String
    /// The mapped file, whose pages the pass gives back behind it (nil for in-memory text).
    let input: InputBytes?

    private var check = UTF8Check()
    private var checkedUpTo = 0
    private var scratch = GrowableBuffer<UInt8>()

    init(base: UnsafePointer<UInt8>, count: Int, source: String, input: InputBytes?) {
        self.base = base
        self.count = count
        self.source = source
        self.input = input
    }

    /// The table of the bytes from `start` (after any byte-order mark).
    mutating func table(from start: Int, categorical: Set<String>, columns wanted: Set<String>?,
                        requireUTF8: Bool) throws -> DataTable {
        defer { scratch.free() }
        checkedUpTo = start
        var header: [String]?
        var pending: DataError?
        var reader: RowReader?
        do {
            let (names, line, dataStart) = readHeader(from: start)
            header = names
            guard let names else { throw Self.empty(source) }
            try Self.checkSeparator(names, source: source, line: line)
            try Self.checkHeader(names, source: source, line: line)
            reader = RowReader(header: names, categorical: categorical, wanted: wanted, dataStart: dataStart, headerLine: line)
            try readRows(into: &reader!)
        } catch let error as DataError {
            pending = error
        }
        defer { reader?.free() }
        checkAhead(to: count)
        if requireUTF8 && !check.valid {
            throw DataError(file: source, message: "data file is not UTF-8 text",
                            fix: "save the file as CSV in UTF-8 encoding")
        }
        if isAllWhitespace(from: start) { throw Self.empty(source) }
        if check.quotes % 2 == 1, let line = firstOddQuoteLine(from: start) {
            throw DataError(file: source, line: line,
                            message: "a quoted field opened on line \(line) is never closed (unbalanced '\"')",
                            fix: "add the closing quote on line \(line); write a quote inside a quoted field as \"\"")
        }
        if let pending { throw pending }
        guard let header, var reader else { throw Self.empty(source) }
        return finish(header: header, reader: &reader)
    }

    // MARK: - Header

    /// The header's fields (nil if every record is blank), its line and where the data start.
    private mutating func readHeader(from start: Int) -> (names: [String]?, line: Int, dataStart: Int) {
        var pos = start
        var line = 0
        while pos < count {
            var fields: [[UInt8]] = []
            var embedded = 0
            while true {
                let (content, next, rowEnd, breaks) = nextField(at: pos)
                fields.append(Array(content))
                embedded += breaks
                pos = next
                if rowEnd { break }
            }
            line += 1 + embedded
            if fields.count == 1 && Self.isBlank(fields[0]) { continue }
            return (fields.map { String(decoding: $0, as: UTF8.self) }, line, pos)
        }
        return (nil, line, pos)
    }

    // MARK: - Rows

    /// Reads the records after the header into `reader`'s columns; throws the first malformed one.
    private mutating func readRows(into reader: inout RowReader) throws {
        let columnCount = reader.columnCount
        let kinds = reader.kinds
        let builders = reader.builders
        let base = self.base, count = self.count
        var pos = reader.dataStart
        var line = reader.headerLine
        var row = 0
        var nextUpkeep = pos
        let tables = DecimalTables.shared
        while pos < count {
            if pos >= nextUpkeep {
                upkeep(at: pos)
                nextUpkeep = pos + Self.upkeepInterval
            }
            let recordStart = pos
            let recordLine = line + 1
            // A line with nothing on it: the most common blank record.
            let first = base[pos]
            if first == 10 || first == 13 {
                pos += first == 13 && pos + 1 < count && base[pos + 1] == 10 ? 2 : 1
                line += 1
                continue
            }
            var field = 0
            var embedded = 0
            var blank = false
            while true {
                let kind = field < columnCount ? kinds[field] : RowReader.skip
                if kind == RowReader.numeric && pos < count && base[pos] != UInt8(ascii: "\"") {
                    if let (end, value) = DecimalParser.scan(base, from: pos, limit: count, tables: tables) {
                        var next = -1
                        var rowEnd = true
                        if end == count {
                            next = end
                        } else {
                            let c = base[end]
                            if c == UInt8(ascii: ",") {
                                next = end + 1
                                rowEnd = false
                            } else if c == 10 {
                                next = end + 1
                            } else if c == 13 {
                                next = end + 1 < count && base[end + 1] == 10 ? end + 2 : end + 1
                            }
                        }
                        if next >= 0 {
                            builders[field].appendNumber(value, bytes: base + pos, length: end - pos, readable: count - pos, row: row)
                            pos = next
                            field += 1
                            if rowEnd { break }
                            continue
                        }
                    }
                }
                let (content, next, rowEnd, breaks) = nextField(at: pos)
                pos = next
                embedded += breaks
                if field == 0 && rowEnd && Self.isBlank(content) {
                    blank = true
                    break
                }
                if kind != RowReader.skip {
                    let address = content.baseAddress ?? base
                    builders[field].appendCell(address, length: content.count, readable: readable(address, content.count),
                                               row: row, recordOffset: recordStart)
                }
                field += 1
                if rowEnd { break }
            }
            line += 1 + embedded
            if blank { continue }
            guard field == columnCount else {
                throw DataError(file: source, line: recordLine,
                                message: "line \(recordLine) has \(field) field\(field == 1 ? "" : "s"), the header has \(columnCount)",
                                fix: "check line \(recordLine) for a missing or extra comma; quote fields that contain commas")
            }
            reader.rowLines.append(recordLine)
            row += 1
        }
        reader.rowCount = row
    }

    /// Bytes the pass checks ahead of itself, and gives back behind itself, at a time.
    private static let upkeepInterval = 1 << 20

    /// Checks the next stretch of bytes as UTF-8 and gives back the mapped pages well behind `pos`.
    private mutating func upkeep(at pos: Int) {
        checkAhead(to: Swift.min(count, pos + 2 * Self.upkeepInterval))
        if pos > 4 * Self.upkeepInterval { input?.release(upTo: pos - 2 * Self.upkeepInterval) }
    }

    private mutating func checkAhead(to target: Int) {
        guard checkedUpTo < target, check.valid else {
            if !check.valid { checkedUpTo = count }
            return
        }
        let end = UTF8Check.blockEnd(base, from: checkedUpTo, size: target - checkedUpTo, count: count)
        check.scan(base, from: checkedUpTo, to: end)
        checkedUpTo = end
    }

    // MARK: - Fields

    /// The field at `pos`: its content (in the file, or unquoted into `scratch`), where the next
    /// field or record starts, whether the record ends with it, and the line breaks inside it.
    @inline(__always)
    private mutating func nextField(at pos: Int) -> (content: UnsafeBufferPointer<UInt8>, next: Int, rowEnd: Bool, lineBreaks: Int) {
        if pos == count {
            // After a ',' at the end of the file: one more, empty, field.
            return (UnsafeBufferPointer(start: base + pos, count: 0), pos, true, 0)
        }
        if base[pos] == UInt8(ascii: "\"") { return quotedField(at: pos) }
        var p = pos
        while p < count {
            let c = base[p]
            if c == UInt8(ascii: ",") { return (UnsafeBufferPointer(start: base + pos, count: p - pos), p + 1, false, 0) }
            if c == 10 { return (UnsafeBufferPointer(start: base + pos, count: p - pos), p + 1, true, 0) }
            if c == 13 {
                let next = p + 1 < count && base[p + 1] == 10 ? p + 2 : p + 1
                return (UnsafeBufferPointer(start: base + pos, count: p - pos), next, true, 0)
            }
            p += 1
        }
        return (UnsafeBufferPointer(start: base + pos, count: count - pos), count, true, 0)
    }

    /// A field that starts with a quote at `pos`, unquoted into `scratch` (CSV.swift's rules).
    private mutating func quotedField(at pos: Int) -> (content: UnsafeBufferPointer<UInt8>, next: Int, rowEnd: Bool, lineBreaks: Int) {
        var scratch = self.scratch
        defer { self.scratch = scratch }
        scratch.removeAll()
        var p = pos + 1
        var next = count
        var rowEnd = true
        scan: while p < count {
            let c = base[p]
            p += 1
            guard c == UInt8(ascii: "\"") else {
                scratch.append(c)
                continue
            }
            guard p < count else { break }
            let after = base[p]
            p += 1
            switch after {
            case 13:
                if p < count && base[p] == 10 { p += 1 }
                next = p
                break scan
            case 10:
                next = p
                break scan
            case UInt8(ascii: ","):
                next = p
                rowEnd = false
                break scan
            case UInt8(ascii: "\""):
                scratch.append(after)
            default:
                // CSV.swift keeps the quote and drops the character after it.
                scratch.append(c)
                while p < count && base[p] & 0xC0 == 0x80 { p += 1 }
            }
        }
        let content = UnsafeBufferPointer(start: scratch.base.map { UnsafePointer($0) }, count: scratch.count)
        return (content, next, rowEnd, Self.lineBreaks(content))
    }

    /// How many bytes from `address` may be read: to the end of the file for content in the file
    /// (a word load may run past a short field), only the content itself in `scratch`.
    @inline(__always)
    private func readable(_ address: UnsafePointer<UInt8>, _ length: Int) -> Int {
        address >= base && address < base + count ? base + count - address : length
    }

    /// Line breaks inside a field's content, so that line numbers stay those of the file: LF, and
    /// CR when no LF follows (CR LF counts once).
    private static func lineBreaks(_ content: UnsafeBufferPointer<UInt8>) -> Int {
        var breaks = 0
        var previous: UInt8 = 0
        for byte in content {
            if byte == 10 { breaks += 1 } else if previous == 13 { breaks += 1 }
            previous = byte
        }
        if previous == 13 { breaks += 1 }
        return breaks
    }

    /// A record that is one field of spaces and tabs (or nothing) is a blank line, skipped as R does.
    private static func isBlank<C: Collection<UInt8>>(_ content: C) -> Bool {
        content.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    }

    // MARK: - Second reads

    /// The labels of column `column` in the first `rows` rows (read again for a column that turned
    /// out categorical after its first rows were read as numbers), as codes of `interner`.
    private mutating func rescan(column: Int, rows: Int, from dataStart: Int, into interner: inout ByteInterner) -> GrowableBuffer<Int32> {
        var codes = GrowableBuffer<Int32>()
        var pos = dataStart
        while codes.count < rows && pos < count {
            var field = 0
            var code: Int32 = -1
            while true {
                let (content, next, rowEnd, _) = nextField(at: pos)
                pos = next
                if field == 0 && rowEnd && Self.isBlank(content) { break }
                if field == column {
                    // The field is the column's cell: intern it before `scratch` is reused.
                    let address = content.baseAddress ?? base
                    code = interner.intern(address, content.count, readable: readable(address, content.count))
                }
                field += 1
                if rowEnd { break }
            }
            if field > column { codes.append(code) }
        }
        return codes
    }

    // MARK: - Whole-file checks

    /// True when the text after the byte-order mark holds only white space (as Swift's
    /// `Character.isWhitespace` says): such a file is empty.
    private func isAllWhitespace(from start: Int) -> Bool {
        var i = start
        var sawOther = false
        while i < count {
            let byte = base[i]
            if byte >= 0x80 { sawOther = true; break }
            if !(byte == 32 || (9...13).contains(byte)) { return false }
            i += 1
        }
        guard sawOther else { return true }
        // Non-ASCII before the first printable ASCII character: judge the text as Swift would.
        var end = i
        while end < count && (base[end] >= 0x80 || base[end] == 32 || (9...13).contains(base[end])) { end += 1 }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: Swift.min(count, end + 1) - start), as: UTF8.self)
        return !text.contains { !$0.isWhitespace }
    }

    /// The line on which a quoted field opens that no closing quote ends, or nil. Quotes pair up
    /// in valid CSV (`""` inside a quoted field toggles twice), so an odd count means the reader
    /// would take the rest of the file as one field. Pairing quotes from the start would blame the
    /// last quote of the file (a stray quote on line 6 pairs with the next quoted field's opening
    /// quote, and that field's closing quote is left over), so the line reported is the first one
    /// holding an odd number of quotes: the only such line in a file without quoted line breaks.
    private func firstOddQuoteLine(from start: Int) -> Int? {
        var onLine = 0, line = 1
        for i in start..<count {
            let byte = base[i]
            if byte == UInt8(ascii: "\"") {
                onLine += 1
            } else if byte == 10 {
                if onLine % 2 == 1 { return line }
                onLine = 0
                line += 1
            }
        }
        return onLine % 2 == 1 ? line : nil
    }

    // MARK: - Typed columns

    private mutating func finish(header: [String], reader: inout RowReader) -> DataTable {
        var columns: [Column?] = []
        var problems: [Int: DataError] = [:]
        let rowLines = reader.rowLines.lines(count: reader.rowCount)
        for position in 0..<reader.columnCount {
            guard reader.kinds[position] != RowReader.skip else {
                columns.append(nil)
                continue
            }
            var builder = reader.builders[position]
            if builder.isNumeric {
                columns.append(.numeric(builder.values.array()))
                // Each column's buffers go as soon as its array exists, so at most one column is held twice.
                builder.free()
                if let draft = builder.problem {
                    let problem = draft.problem(textCells: builder.textCells, presentCells: builder.presentCells)
                    problems[position] = problem.error(file: source, line: rowLines[problem.row], column: header[position])
                }
            } else {
                var codes = builder.codes
                var interner = builder.interner ?? ByteInterner()
                var reordered = false
                if let rows = builder.rowsToRescan {
                    var earlier = rescan(column: position, rows: rows, from: reader.dataStart, into: &interner)
                    if !builder.internAbandoned, let later = codes.base { earlier.append(contentsOf: later, count: codes.count) }
                    codes.free()
                    codes = earlier
                    reordered = true
                }
                columns.append(.categorical(Self.factor(interner: interner, codes: codes, inFileOrder: !reordered)))
                codes.free()
                interner.free()
                builder.codes = GrowableBuffer()
                builder.interner = nil
                builder.free()
            }
            reader.builders[position] = builder
        }
        return DataTable(source: source, columnNames: header, columns: columns, rowLines: rowLines, cellProblems: problems)
    }

    /// The factor of interned labels and per-row codes: levels are the labels that are not
    /// missing, in R's order (`Factor.sortLevels`). Labels are compared as Swift strings, so two
    /// spellings of one character (é composed or not) are one level, spelt as first seen in the
    /// file. `inFileOrder`: the labels were numbered in file order (no second read).
    static func factor(interner: ByteInterner, codes: GrowableBuffer<Int32>, inFileOrder: Bool) -> Factor {
        let labelCount = interner.count
        var order = Array(0..<labelCount)
        if !inFileOrder {
            var firstRow = [Int](repeating: Int.max, count: labelCount)
            for row in 0..<codes.count where firstRow[Int(codes[row])] == Int.max { firstRow[Int(codes[row])] = row }
            order.sort { firstRow[$0] < firstRow[$1] }
        }
        var labels: [String] = []
        var representative = [Int](repeating: 0, count: labelCount)
        var lookup: [String: Int] = [:]
        for index in order {
            let label = String(decoding: interner.label(index), as: UTF8.self)
            if let earlier = lookup[label] {
                representative[index] = earlier
            } else {
                representative[index] = labels.count
                lookup[label] = labels.count
                labels.append(label)
            }
        }
        let missing = labels.map { label -> Bool in
            if case .missing = CellKind(label) { return true }
            return false
        }
        let present = labels.indices.filter { !missing[$0] }.map { labels[$0] }
        let levels = Factor.sortLevels(present)
        var levelOf: [String: Int32] = [:]
        for (index, label) in levels.enumerated() { levelOf[label] = Int32(index) }
        let recode = (0..<labelCount).map { index -> Int32 in
            let merged = representative[index]
            return missing[merged] ? -1 : (levelOf[labels[merged]] ?? -1)
        }
        let rowCodes = [Int32](unsafeUninitializedCapacity: codes.count) { buffer, initialized in
            for row in 0..<codes.count { buffer[row] = recode[Int(codes[row])] }
            initialized = codes.count
        }
        return Factor(levels: levels, codes: rowCodes)
    }

    // MARK: - Header checks

    static func empty(_ source: String) -> DataError {
        DataError(file: source, message: "data file is empty",
                  fix: "the file needs a header row naming the columns, then one row per observation")
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
}

/// The columns being read and the lines of the rows read so far.
struct RowReader {
    static let skip: UInt8 = 0
    static let numeric: UInt8 = 1
    static let categorical: UInt8 = 2

    let columnCount: Int
    /// Per column: `skip` (not wanted), `numeric` (typed by its cells) or `categorical` (declared).
    let kinds: UnsafeMutablePointer<UInt8>
    let builders: UnsafeMutablePointer<ColumnBuilder>
    let dataStart: Int
    let headerLine: Int
    var rowLines = RowLineRecorder()
    var rowCount = 0

    init(header: [String], categorical: Set<String>, wanted: Set<String>?, dataStart: Int, headerLine: Int) {
        columnCount = header.count
        kinds = .allocate(capacity: header.count)
        builders = .allocate(capacity: header.count)
        for (position, name) in header.enumerated() {
            let declared = categorical.contains(name)
            if let wanted, !wanted.contains(name) {
                kinds[position] = Self.skip
            } else {
                kinds[position] = declared ? Self.categorical : Self.numeric
            }
            (builders + position).initialize(to: ColumnBuilder(declaredCategorical: declared))
        }
        self.dataStart = dataStart
        self.headerLine = headerLine
    }

    func free() {
        for position in 0..<columnCount { builders[position].free() }
        builders.deinitialize(count: columnCount)
        builders.deallocate()
        kinds.deallocate()
    }
}

/// The file line of each row, kept as a first line and a count while the rows sit on consecutive
/// lines (no blank lines or quoted line breaks), and listed only from the first gap on.
struct RowLineRecorder {
    private var first = 0
    private var consecutive = 0
    private var listed: [Int]?

    @inline(__always)
    mutating func append(_ line: Int) {
        if listed == nil {
            if consecutive == 0 { first = line }
            if line == first + consecutive {
                consecutive += 1
                return
            }
            listed = Array(first ..< first + consecutive)
        }
        listed!.append(line)
    }

    func lines(count: Int) -> RowLines {
        listed.map { RowLines(listed: $0) } ?? RowLines(first: first, count: count)
    }
}
