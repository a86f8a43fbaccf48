import Foundation

/// The files of one `mixmc sample` run: `DIR/chain-K.csv` per chain and `DIR/labels.json`, and
/// the lock on the directory that the run holds until it ends.
struct ChainOutput {
    var chains: [URL]
    var labels: URL
    let lock: OutputLock

    /// Checks and creates the output directory before anything is written, and locks it.
    ///
    /// A directory that already holds chain files is refused unless `replacing`, so a finished
    /// run is never mixed with a new one: with `onlySomeChains` (`--chain K`, e.g. one job of an
    /// array filling one directory) only `chain-K.csv` itself counts; otherwise any `chain-*.csv`
    /// does, and `replacing` removes them all (a stale chain-4.csv must not join a 2-chain run).
    /// A directory another run is writing is refused, `replacing` or not (`OutputLock`), and a
    /// `--chain K` run never joins the chains of another model (its `labels` differ from the
    /// `labels.json` there).
    static func prepare(directory: String, chainIDs: [Int], replacing: Bool, onlySomeChains: Bool,
                        labels: Data, seed: UInt64) throws -> ChainOutput {
        let manager = FileManager.default
        let url = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        let exists = manager.fileExists(atPath: directory, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw SampleError("\(directory): exists and is not a directory; choose another --output")
        }
        let slot = onlySomeChains ? OutputLock.Slot.chain(chainIDs[0]) : .wholeDirectory
        // A run still writing here is named before anything else is said about its files.
        if exists { try OutputLock.checkFree(directory: directory, slot: slot, replacing: replacing) }
        let ours = Set(chainIDs.map(fileName))
        let present = exists ? ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).filter(isChainFile) : []
        let existing = present.filter { onlySomeChains ? ours.contains($0) : true }
            .sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        if !existing.isEmpty && !replacing {
            throw SampleError("\(directory): already holds chain files (\(existing.joined(separator: ", "))); pass --overwrite to replace them, or choose another --output")
        }
        let others = present.filter { !ours.contains($0) }
        if onlySomeChains && !others.isEmpty, let old = try? Data(contentsOf: url.appendingPathComponent("labels.json")), old != labels {
            let model = others.sorted().lazy.compactMap { modelDescription(url.appendingPathComponent($0)) }.first ?? "another model"
            throw SampleError("\(directory): holds chains of another model (\(model): \(others.sorted { $0.localizedStandardCompare($1) == .orderedAscending }.joined(separator: ", "))); its labels.json differs from this model's; choose another --output")
        }
        do {
            try manager.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw SampleError("\(directory): cannot create the output directory: \(reason(error))")
        }
        guard manager.isWritableFile(atPath: directory) else {
            throw SampleError("\(directory): the output directory is not writable")
        }
        let lock = try OutputLock.acquire(directory: directory, slot: slot, replacing: replacing,
                                          record: "PID \(getpid()), seed \(seed), \(chainIDs.count == 1 ? "chain" : "chains") \(chainList(chainIDs))")
        for name in existing {
            do { try manager.removeItem(at: url.appendingPathComponent(name)) } catch {
                throw SampleError("\(directory)/\(name): cannot remove it: \(error.localizedDescription)")
            }
        }
        return ChainOutput(chains: chainIDs.map { url.appendingPathComponent(fileName($0)) },
                           labels: url.appendingPathComponent("labels.json"), lock: lock)
    }

    /// `1-4`, or `2` alone.
    static func chainList(_ ids: [Int]) -> String {
        ids.count > 1 && ids == Array(ids[0]...ids[ids.count - 1]) ? "\(ids[0])-\(ids[ids.count - 1])" : ids.map(String.init).joined(separator: ", ")
    }

    /// `model sleepstudy, data models/sleepstudy/data.csv` from a chain file's configuration.
    static func modelDescription(_ file: URL) -> String? {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return nil }
        defer { try? handle.close() }
        let head = String(decoding: (try? handle.read(upToCount: 8192)) ?? Data(), as: UTF8.self)
        var model: String?, data: String?
        var inData = false
        for line in head.split(separator: "\n") where line.hasPrefix("#") {
            let text = line.dropFirst().trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("model = ") { model = String(text.dropFirst("model = ".count)) }
            if text == "data" { inData = true; continue }
            if inData, text.hasPrefix("file = ") { data = String(text.dropFirst("file = ".count)); inData = false }
        }
        guard let model else { return nil }
        return "model \(model)" + (data.map { ", data \($0)" } ?? "")
    }

    /// The operating system's reason ("Not a directory", "Permission denied") rather than
    /// Foundation's "The operation could not be completed. (NSCocoaErrorDomain error 512.)".
    static func reason(_ error: Error) -> String {
        // On Linux the underlying error is a Swift Error that `as? NSError` does not match.
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? Error {
            let posix = underlying as NSError
            if posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        }
        return error.localizedDescription
    }

    static func fileName(_ chain: Int) -> String { "chain-\(chain).csv" }

    /// `chain-<digits>.csv`.
    static func isChainFile(_ name: String) -> Bool {
        guard name.hasPrefix("chain-"), name.hasSuffix(".csv") else { return false }
        let middle = name.dropFirst("chain-".count).dropLast(".csv".count)
        return !middle.isEmpty && middle.allSatisfy(\.isASCII) && middle.allSatisfy(\.isNumber)
    }
}

/// A user-facing failure of `mixmc sample`, printed as `error: <message>` with exit status 1.
struct SampleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The lock a run holds on its output directory (issue 12: two runs into one directory
/// interleaved their chains, and `--overwrite` deleted the files of a run still writing them).
///
/// One file, `DIR/.mixmc-lock`, with POSIX record locks (`fcntl`), which the kernel releases when
/// the process ends however it ends, so a killed run never leaves a stale lock: a run of several
/// chains locks the whole file, a `--chain K` run only its slot (bytes 64 K ..< 64 (K + 1)), so
/// the jobs of an array share a directory (docs/cluster.md) while a second run of the same chain,
/// or of all chains, is refused. Each holder writes `PID …, seed …, chains …` at the start of its
/// range, which the refusal quotes. The file stays in the directory (removing a lock file races
/// with the next run opening it); readers of `*.csv` never see it.
final class OutputLock {
    enum Slot {
        case wholeDirectory
        case chain(Int)

        var range: (start: off_t, length: off_t) {
            switch self {
            case .wholeDirectory: return (0, 0)  // 0 length: to the end of the file and beyond
            case .chain(let id): return (off_t(id) * OutputLock.recordSize, OutputLock.recordSize)
            }
        }
    }

    static let fileName = ".mixmc-lock"
    static let recordSize: off_t = 64
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { close(descriptor) }

    /// Refuses if another process holds a lock that `slot` conflicts with; creates nothing.
    static func checkFree(directory: String, slot: Slot, replacing: Bool) throws {
        let descriptor = open(directory + "/" + fileName, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        if let holder = holder(descriptor: descriptor, slot: slot) {
            throw busy(directory: directory, holder: holder, replacing: replacing)
        }
    }

    /// Takes the lock of `slot` and writes `record` in it; refuses if another run holds it.
    static func acquire(directory: String, slot: Slot, replacing: Bool, record: String) throws -> OutputLock {
        let path = directory + "/" + fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SampleError("\(path): cannot create the lock file: \(String(cString: strerror(errno)))")
        }
        let lock = OutputLock(descriptor: descriptor)
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        (request.l_start, request.l_len) = slot.range
        if fcntl(descriptor, F_SETLK, &request) != 0 {
            let error = errno
            if error == EACCES || error == EAGAIN {
                throw busy(directory: directory, holder: holder(descriptor: descriptor, slot: slot) ?? "another mixmc sample",
                           replacing: replacing)
            }
            // A file system without record locks (some network mounts): run unlocked, as before.
            printError("note: \(path): cannot lock the output directory (\(String(cString: strerror(error)))); do not start another run into it until this one ends")
            return lock
        }
        var bytes = Array(record.utf8.prefix(Int(recordSize) - 1))
        bytes += Array(repeating: UInt8(ascii: " "), count: Int(recordSize) - 1 - bytes.count) + [UInt8(ascii: "\n")]
        _ = pwrite(descriptor, bytes, bytes.count, slot.range.start)
        return lock
    }

    /// The record of the process holding a lock that conflicts with `slot`, or nil when none does.
    private static func holder(descriptor: Int32, slot: Slot) -> String? {
        var query = flock()
        query.l_type = Int16(F_WRLCK)
        query.l_whence = Int16(SEEK_SET)
        (query.l_start, query.l_len) = slot.range
        guard fcntl(descriptor, F_GETLK, &query) == 0, query.l_type != Int16(F_UNLCK) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(recordSize))
        let count = pread(descriptor, &bytes, bytes.count, query.l_start)
        let text = count > 0 ? String(decoding: bytes.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        let pid = "PID \(query.l_pid)"
        return "mixmc sample " + (text.hasPrefix(pid) ? text : pid)
    }

    private static func busy(directory: String, holder: String, replacing: Bool) -> SampleError {
        SampleError("\(directory): another run is writing here (\(holder)); wait for it to end"
            + (replacing ? " (--overwrite never removes the files of a run still writing them)" : "")
            + ", or choose another --output")
    }
}
