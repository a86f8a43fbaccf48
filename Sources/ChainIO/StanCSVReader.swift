import Foundation

/// One chain read from a Stan CSV file.
public struct StanCSVChain: Sendable {
    /// The file it came from (or the name given to `read(text:path:)`).
    public var path: String
    /// Every comment line above the header that is a `key = value` or a section name, in order.
    public var configuration: StanCSVConfiguration
    public var columnNames: [String]
    /// Sampling draws, column-major: `draws[column][draw]`. Warmup rows are not here.
    public var draws: [[Double]]
    /// Warmup draws (present only when the file says `save_warmup = 1`), column-major.
    public var warmupDraws: [[Double]]
    public var adaptation: StanCSVAdaptation?
    /// The `Elapsed Time` trailer; `nil` for a run that was interrupted before it ended.
    public var timing: StanCSVTiming?
    /// True when the file ended in the middle of a data line (no newline, too few cells); that
    /// partial line was dropped.
    public var droppedPartialFinalLine: Bool

    /// Leaf key → value of the configuration, ` (Default)` removed (`num_samples` → `"1000"`).
    public var config: [String: String] { configuration.values }

    /// Number of sampling draws.
    public var drawCount: Int { draws.first?.count ?? 0 }

    /// Sampling draws of one column, or `nil` when there is no such column.
    public func column(_ name: String) -> [Double]? {
        columnNames.firstIndex(of: name).map { draws[$0] }
    }
}

/// Why a Stan CSV file could not be read. Every case names the file, and the line where it can.
public enum StanCSVReadError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case missingHeader(path: String)
    case raggedRow(path: String, line: Int, expected: Int, found: Int)
    case nonNumericCell(path: String, line: Int, column: String, text: String)
    case malformedAdaptation(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): cannot read: \(reason)"
        case let .missingHeader(path): "\(path): no header row (a line of column names) found"
        case let .raggedRow(path, line, expected, found): "\(path):\(line): expected \(expected) cells as in the header, found \(found)"
        case let .nonNumericCell(path, line, column, text): "\(path):\(line): column \(column): '\(text)' is not a number"
        case let .malformedAdaptation(path, line, reason): "\(path):\(line): malformed adaptation block: \(reason)"
        }
    }
}

/// Reads Stan CSV files as CmdStan (and `StanCSVWriter`) write them. See docs/chain-format.md.
///
/// Comment lines may appear anywhere; those above the header are configuration, those after it
/// are the adaptation block, the timing trailer, or ignored. When the configuration says
/// `save_warmup = 1`, the rows before the adaptation block are warmup (without an adaptation
/// block: the first ceil(num_warmup / thin) rows, CmdStan's count), and are kept apart.
public enum StanCSVReader {
    /// Reads a chain file. With `keeping`, only the columns whose names it accepts are parsed and
    /// returned (`columnNames` lists them); the others' cells are counted (a ragged row is still
    /// an error) but not read as numbers: `mixmc sample`'s summary leaves the `r_` columns, most
    /// of a large design's file, unread this way.
    public static func read(url: URL, keeping: ((String) -> Bool)? = nil) throws -> StanCSVChain {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw StanCSVReadError.unreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
        return try read(bytes: terminated(data), path: url.path, keeping: keeping)
    }

    public static func read(text: String, path: String, keeping: ((String) -> Bool)? = nil) throws -> StanCSVChain {
        try read(bytes: terminated(text.utf8), path: path, keeping: keeping)
    }

    /// The bytes followed by a 0, which ends the last cell for the number parser; one copy (a
    /// large design's chain file is hundreds of megabytes).
    static func terminated(_ source: some Collection<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(source.count + 1)
        bytes.append(contentsOf: source)
        bytes.append(0)
        return bytes
    }

    private enum MetricState {
        case none
        case expectStepSize
        case afterStepSize
        case diagonalValues
        case denseRows
    }

    /// `bytes` ends with the 0 of `terminated`.
    static func read(bytes: [UInt8], path: String, keeping: ((String) -> Bool)? = nil) throws -> StanCSVChain {
        let total = bytes.count - 1
        let endsWithNewline = total > 0 && bytes[total - 1] == UInt8(ascii: "\n")

        var entries: [StanCSVConfigEntry] = []
        var columnNames: [String]? = nil
        /// The file's columns that are read, in file order (all of them without `keeping`).
        var keptColumns: [Int] = []
        /// How many cell starts a row needs: up to the cell after the last kept one.
        var startsNeeded = 0
        var cellStarts: [Int] = []
        var columns: [[Double]] = []
        var rowCount = 0
        var rowsBeforeAdaptation: Int? = nil
        var stepSize: Double? = nil
        var metric: StanCSVAdaptation.Metric? = nil
        var metricState = MetricState.none
        var denseRows: [[Double]] = []
        var timingValues: [String: Double] = [:]
        var droppedPartialFinalLine = false

        func finishDense() {
            if metricState == .denseRows { metric = .dense(denseRows) }
        }

        try bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            var lineStart = 0
            var lineNumber = 0
            while lineStart < total {
                lineNumber += 1
                let lineEnd = memchr(base + lineStart, Int32(UInt8(ascii: "\n")), total - lineStart)
                    .map { UnsafeRawPointer(base).distance(to: $0) } ?? total
                let isLastLine = lineEnd >= total
                var contentEnd = lineEnd
                if contentEnd > lineStart, base[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
                defer { lineStart = lineEnd + 1 }
                if contentEnd == lineStart { continue }

                if base[lineStart] == UInt8(ascii: "#") {
                    let text = String(decoding: UnsafeBufferPointer(start: base + lineStart + 1, count: contentEnd - lineStart - 1), as: UTF8.self)
                    if columnNames == nil {
                        if let entry = configEntry(fromComment: text) { entries.append(entry) }
                        continue
                    }
                    let trimmed = text.trimmingCharacters(in: .whitespaces)
                    if trimmed == "Adaptation terminated" {
                        finishDense()
                        rowsBeforeAdaptation = rowCount
                        metricState = .expectStepSize
                    } else if trimmed.hasPrefix("Step size") {
                        guard let valueText = trimmed.split(separator: "=", maxSplits: 1).last,
                              let value = StanCSVNumberFormat.parse(valueText) else {
                            throw StanCSVReadError.malformedAdaptation(path: path, line: lineNumber, reason: "unreadable step size '\(trimmed)'")
                        }
                        stepSize = value
                        metric = .unit
                        metricState = .afterStepSize
                    } else if trimmed.hasPrefix("Diagonal elements of inverse mass matrix") {
                        metricState = .diagonalValues
                    } else if trimmed.hasPrefix("Elements of inverse mass matrix") {
                        metricState = .denseRows
                        denseRows = []
                    } else if metricState == .diagonalValues || metricState == .denseRows,
                              let values = numberList(trimmed) {
                        if metricState == .diagonalValues {
                            metric = .diagonal(values)
                            metricState = .none
                        } else {
                            denseRows.append(values)
                        }
                    } else {
                        finishDense()
                        if metricState != .none { metricState = .none }
                        if let (phase, seconds) = timingLine(trimmed) { timingValues[phase] = seconds }
                    }
                    continue
                }

                guard let names = columnNames else {
                    let header = String(decoding: UnsafeBufferPointer(start: base + lineStart, count: contentEnd - lineStart), as: UTF8.self)
                    let names = header.split(separator: ",", omittingEmptySubsequences: false).map { String($0.trimmingSpaces()) }
                    columnNames = names
                    keptColumns = names.indices.filter { keeping?(names[$0]) ?? true }
                    startsNeeded = (keptColumns.last ?? -1) + 2
                    columns = Array(repeating: [], count: keptColumns.count)
                    continue
                }
                finishDense()
                if metricState != .none { metricState = .none }

                // A data row: find where the cells read start (up to the one after the last kept
                // cell, whose start ends it), count the rest, and parse the kept cells in place.
                cellStarts.removeAll(keepingCapacity: true)
                cellStarts.append(lineStart)
                var cellCount = 1
                var position = lineStart
                while position < contentEnd,
                      let comma = memchr(base + position, Int32(UInt8(ascii: ",")), contentEnd - position) {
                    position = UnsafeRawPointer(base).distance(to: comma) + 1
                    if cellCount < startsNeeded { cellStarts.append(position) }
                    cellCount += 1
                }
                if cellCount != names.count {
                    if isLastLine && !endsWithNewline && cellCount < names.count {
                        droppedPartialFinalLine = true
                        continue
                    }
                    throw StanCSVReadError.raggedRow(path: path, line: lineNumber, expected: names.count, found: cellCount)
                }
                var parsed: [Double] = []
                parsed.reserveCapacity(keptColumns.count)
                for cell in keptColumns {
                    let start = cellStarts[cell]
                    let end = cell + 1 < cellCount ? cellStarts[cell + 1] - 1 : contentEnd
                    guard let value = StanCSVNumberFormat.parse(base + start, count: end - start) else {
                        if isLastLine && !endsWithNewline && cell == cellCount - 1 {
                            droppedPartialFinalLine = true
                            parsed.removeAll()
                            break
                        }
                        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
                        throw StanCSVReadError.nonNumericCell(path: path, line: lineNumber, column: names[cell], text: text)
                    }
                    parsed.append(value)
                }
                if parsed.count == keptColumns.count {
                    for (column, value) in parsed.enumerated() { columns[column].append(value) }
                    rowCount += 1
                }
            }
        }
        finishDense()

        guard let allNames = columnNames else { throw StanCSVReadError.missingHeader(path: path) }
        let names = keptColumns.map { allNames[$0] }
        let configuration = StanCSVConfiguration(entries: entries)
        let values = configuration.values
        let saveWarmup = values["save_warmup"].map { $0 == "1" || $0 == "true" } ?? false
        var warmupCount = 0
        if saveWarmup {
            if let rowsBeforeAdaptation {
                warmupCount = rowsBeforeAdaptation
            } else {
                let numWarmup = values["num_warmup"].flatMap { Int($0) } ?? 1000
                let thin = max(1, values["thin"].flatMap { Int($0) } ?? 1)
                warmupCount = min(rowCount, (numWarmup + thin - 1) / thin)
            }
        }
        let warmup = columns.map { Array($0.prefix(warmupCount)) }
        let sampling = columns.map { Array($0.dropFirst(warmupCount)) }
        var adaptation: StanCSVAdaptation? = nil
        if let stepSize { adaptation = StanCSVAdaptation(stepSize: stepSize, metric: metric ?? .unit) }
        var timing: StanCSVTiming? = nil
        if let warmupSeconds = timingValues["Warm-up"], let samplingSeconds = timingValues["Sampling"] {
            timing = StanCSVTiming(warmupSeconds: warmupSeconds, samplingSeconds: samplingSeconds, totalSeconds: timingValues["Total"])
        }
        return StanCSVChain(path: path, configuration: configuration, columnNames: names, draws: sampling,
                            warmupDraws: warmup, adaptation: adaptation, timing: timing,
                            droppedPartialFinalLine: droppedPartialFinalLine)
    }

    /// `# key = value (Default)` or `#   section` → an entry; CmdStan indents two spaces per level
    /// after the single space that follows `#`.
    static func configEntry(fromComment text: String) -> StanCSVConfigEntry? {
        let leadingSpaces = text.prefix { $0 == " " }.count
        let body = text.dropFirst(leadingSpaces).trimmingSpaces()
        guard !body.isEmpty else { return nil }
        let depth = max(0, leadingSpaces - 1) / 2
        let parts = body.components(separatedBy: " = ")
        if parts.count == 1 {
            // A bare word is a section; any other free text (a banner) is not configuration.
            guard !body.contains(" ") else { return nil }
            return StanCSVConfigEntry(depth: depth, key: String(body))
        }
        let key = parts[0].trimmingCharacters(in: .whitespaces)
        var value = parts.dropFirst().joined(separator: " = ").trimmingCharacters(in: .whitespaces)
        var isDefault = false
        if value.hasSuffix("(Default)") {
            isDefault = true
            value = String(value.dropLast("(Default)".count)).trimmingCharacters(in: .whitespaces)
        }
        return StanCSVConfigEntry(depth: depth, key: key, value: value, isDefault: isDefault)
    }

    /// `1.2, 3.4, 5` → numbers; `nil` when any piece is not a number.
    static func numberList(_ text: String) -> [Double]? {
        let pieces = text.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Double] = []
        for piece in pieces {
            guard let value = StanCSVNumberFormat.parse(piece) else { return nil }
            values.append(value)
        }
        return values.isEmpty ? nil : values
    }

    /// `Elapsed Time: 0.5 seconds (Warm-up)` or `0.2 seconds (Sampling)` → (phase, seconds).
    static func timingLine(_ text: String) -> (String, Double)? {
        guard let secondsRange = text.range(of: " seconds (") else { return nil }
        var numberPart = text[..<secondsRange.lowerBound]
        if let colon = numberPart.lastIndex(of: ":") { numberPart = numberPart[numberPart.index(after: colon)...] }
        guard let seconds = StanCSVNumberFormat.parse(numberPart) else { return nil }
        let phaseStart = secondsRange.upperBound
        guard let close = text[phaseStart...].firstIndex(of: ")") else { return nil }
        return (String(text[phaseStart..<close]), seconds)
    }
}
