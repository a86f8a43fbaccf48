import Foundation

/// Why a `StanCSVWriter` refused a call.
public enum StanCSVWriterError: Error, Equatable, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)
    case wrongRowLength(path: String, expected: Int, found: Int)
    case adaptationAfterSampling(path: String)
    case alreadyFinished(path: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, reason): "\(path): cannot create file: \(reason)"
        case let .wrongRowLength(path, expected, found): "\(path): a draw has \(found) values but the header has \(expected) columns"
        case let .adaptationAfterSampling(path): "\(path): the adaptation block must come before the sampling draws and only once"
        case let .alreadyFinished(path): "\(path): the timing trailer was written already; the file is closed"
        case let .writeFailed(path, reason): "\(path): write failed: \(reason)"
        }
    }
}

/// Streams one chain to a Stan CSV file in CmdStan's layout (see docs/chain-format.md):
/// configuration comments and the header row at creation, warmup draws (if any), the adaptation
/// block, sampling draws, and the timing trailer from `finish`.
///
/// Draws are buffered and handed to the file every `flushEvery` rows (and on `flush()`), always
/// as whole lines, so a run that is killed leaves a file whose every data line is complete; the
/// reader accepts such a file (it only lacks the timing trailer). A write that fails (a full
/// disk, a file-size limit) is cut back to the last whole row on the disk (`rowsOnDisk`), and
/// the writer refuses further writes; a file whose header could not be written is removed.
public final class StanCSVWriter {
    public let path: String
    public let columnNames: [String]
    /// Rows between two writes to the file. 1 writes every row at once (slow for long runs).
    public let flushEvery: Int

    private let handle: FileHandle
    private var buffer: [UInt8] = []
    /// One row's text, reused by every `writeDraw` (room for every column's longest value).
    private let rowScratch: UnsafeMutablePointer<UInt8>
    private var bufferedRows = 0
    private var wroteAdaptation = false
    private var finished = false
    public private(set) var rowsWritten = 0
    /// Bytes handed to the file so far (all of them on the disk).
    private var bytesOnDisk: UInt64 = 0
    /// Bytes of the header and configuration; a truncation never cuts into them.
    private var headerBytes: UInt64 = 0
    /// Per row written, the file length once that row (and whatever came before it) is written.
    private var rowEnds: [UInt64] = []
    /// Where the adaptation block starts in the file, once written.
    private var adaptationStart: UInt64?
    /// The failure that stopped the writer, if one did.
    public private(set) var failure: StanCSVWriterError?
    /// Rows (warmup and sampling draws) the file holds whole.
    public var rowsOnDisk: Int {
        var low = 0, high = rowEnds.count
        while low < high {
            let middle = (low + high) / 2
            if rowEnds[middle] <= bytesOnDisk { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Creates (or truncates) the file and writes the configuration block and the header row.
    public init(url: URL, configuration: StanCSVConfiguration, columnNames: [String], flushEvery: Int = 100) throws {
        self.path = url.path
        self.columnNames = columnNames
        self.flushEvery = max(1, flushEvery)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw StanCSVWriterError.cannotCreate(path: url.path, reason: "the directory is missing or not writable")
        }
        do {
            handle = try FileHandle(forWritingTo: url)
        } catch {
            throw StanCSVWriterError.cannotCreate(path: url.path, reason: error.localizedDescription)
        }
        rowScratch = .allocate(capacity: max(1, columnNames.count) * (StanCSVNumberFormat.maximumLength + 1) + 1)
        var text = ""
        for entry in configuration.entries { text += entry.line + "\n" }
        text += columnNames.joined(separator: ",") + "\n"
        buffer.append(contentsOf: text.utf8)
        do {
            try flush()
        } catch {
            // No zero-byte or half-header file is left behind.
            try? handle.close()
            try? FileManager.default.removeItem(atPath: url.path)
            throw error
        }
        headerBytes = bytesOnDisk
    }

    deinit {
        try? flush()
        try? handle.close()
        rowScratch.deallocate()
    }

    /// Appends one draw (warmup or sampling): one value per column, in header order.
    public func writeDraw(_ values: [Double]) throws {
        guard !finished else { throw StanCSVWriterError.alreadyFinished(path: path) }
        guard values.count == columnNames.count else {
            throw StanCSVWriterError.wrongRowLength(path: path, expected: columnNames.count, found: values.count)
        }
        let row = rowScratch
        var length = 0
        values.withUnsafeBufferPointer { values in
            for index in values.indices {
                if index > 0 { row[length] = UInt8(ascii: ","); length += 1 }
                length += StanCSVNumberFormat.write(values[index], to: row + length)
            }
        }
        row[length] = UInt8(ascii: "\n")
        buffer.append(contentsOf: UnsafeBufferPointer(start: row, count: length + 1))
        rowEnds.append(bytesOnDisk + UInt64(buffer.count))
        bufferedRows += 1
        rowsWritten += 1
        if bufferedRows >= flushEvery { try flush() }
    }

    /// Writes the adaptation block: `# Adaptation terminated`, `# Step size = …`, and the metric.
    /// Call it once, after the warmup draws (if saved) and before the first sampling draw.
    public func writeAdaptation(_ adaptation: StanCSVAdaptation) throws {
        guard !finished else { throw StanCSVWriterError.alreadyFinished(path: path) }
        guard !wroteAdaptation else { throw StanCSVWriterError.adaptationAfterSampling(path: path) }
        wroteAdaptation = true
        adaptationStart = bytesOnDisk + UInt64(buffer.count)
        var lines = ["# Adaptation terminated", "# Step size = \(StanCSVNumberFormat.format(adaptation.stepSize))"]
        switch adaptation.metric {
        case .unit:
            break
        case let .diagonal(values):
            lines.append("# Diagonal elements of inverse mass matrix:")
            lines.append("# " + values.map(StanCSVNumberFormat.format).joined(separator: ", "))
        case let .dense(rows):
            lines.append("# Elements of inverse mass matrix:")
            for row in rows { lines.append("# " + row.map(StanCSVNumberFormat.format).joined(separator: ", ")) }
        }
        buffer.append(contentsOf: (lines.joined(separator: "\n") + "\n").utf8)
        try flush()
    }

    /// Hands every buffered whole line to the file. When the system takes only part of it (a
    /// full disk), the file is cut back to the last whole row it holds and the writer fails from
    /// then on, so the file always ends on a whole row.
    public func flush() throws {
        if let failure { throw failure }
        guard !buffer.isEmpty else { return }
        let descriptor = handle.fileDescriptor
        var written = 0
        let error: Int32? = buffer.withUnsafeBytes { bytes -> Int32? in
            while written < bytes.count {
                let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += count
            }
            return nil
        }
        bytesOnDisk += UInt64(written)
        if let error {
            let failure = StanCSVWriterError.writeFailed(path: path, reason: String(cString: strerror(error)))
            self.failure = failure
            buffer.removeAll()
            truncate(toLength: rowsOnDisk > 0 ? rowEnds[rowsOnDisk - 1] : headerBytes)
            throw failure
        }
        buffer.removeAll(keepingCapacity: true)
        bufferedRows = 0
    }

    /// Cuts the file back to its first `rows` rows (a run stopped by a second Ctrl-C is cut to its
    /// shortest chain), dropping any adaptation block written after them; `finish` may follow.
    /// After a failed write the file is cut to `rows` (at most `rowsOnDisk`) and the writer
    /// accepts writes again (the trailer, say, once other files have freed space).
    public func truncate(toRows rows: Int) throws {
        precondition(rows >= 0 && rows <= rowsWritten)
        if failure == nil { try flush() }
        precondition(rows <= rowsOnDisk)
        failure = nil
        truncate(toLength: rows > 0 ? rowEnds[rows - 1] : headerBytes)
        rowEnds.removeSubrange(rows...)
        rowsWritten = rows
        if let start = adaptationStart, start >= bytesOnDisk {
            wroteAdaptation = false
            adaptationStart = nil
        }
    }

    private func truncate(toLength length: UInt64) {
        if ftruncate(handle.fileDescriptor, off_t(length)) == 0 {
            bytesOnDisk = length
            _ = lseek(handle.fileDescriptor, off_t(length), SEEK_SET)
        }
    }

    /// Writes the timing trailer exactly as CmdStan does and closes the file.
    public func finish(timing: StanCSVTiming) throws {
        guard !finished else { throw StanCSVWriterError.alreadyFinished(path: path) }
        // CmdStan prints milliseconds in fixed notation; CmdStanPy's timing regex expects digits
        // and a dot only, so no exponent may appear here.
        func seconds(_ value: Double) -> String { String(format: "%.3f", value) }
        let trailer = [
            "# ",
            "#  Elapsed Time: \(seconds(timing.warmupSeconds)) seconds (Warm-up)",
            "#                \(seconds(timing.samplingSeconds)) seconds (Sampling)",
            "#                \(seconds(timing.totalSeconds)) seconds (Total)",
            "# ",
        ].joined(separator: "\n") + "\n"
        buffer.append(contentsOf: trailer.utf8)
        try flush()
        finished = true
        try? handle.synchronize()
        try? handle.close()
    }
}
