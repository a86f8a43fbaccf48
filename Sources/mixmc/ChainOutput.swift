import Foundation

/// The files of one `mixmc sample` run: `DIR/chain-K.csv` per chain and `DIR/labels.json`.
struct ChainOutput {
    var chains: [URL]
    var labels: URL

    /// Checks and creates the output directory before anything is written.
    ///
    /// A directory that already holds chain files is refused unless `replacing`, so a finished
    /// run is never mixed with a new one: with `onlySomeChains` (`--chain K`, e.g. one job of an
    /// array filling one directory) only `chain-K.csv` itself counts; otherwise any `chain-*.csv`
    /// does, and `replacing` removes them all (a stale chain-4.csv must not join a 2-chain run).
    static func prepare(directory: String, chainIDs: [Int], replacing: Bool, onlySomeChains: Bool) throws -> ChainOutput {
        let manager = FileManager.default
        let url = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        let exists = manager.fileExists(atPath: directory, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw SampleError("\(directory): exists and is not a directory; choose another --output")
        }
        let ours = Set(chainIDs.map(fileName))
        let existing = exists
            ? ((try? manager.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { onlySomeChains ? ours.contains($0) : isChainFile($0) }
                .sorted { $0.localizedStandardCompare($1) == .orderedAscending }
            : []
        if !existing.isEmpty {
            guard replacing else {
                throw SampleError("\(directory): already holds chain files (\(existing.joined(separator: ", "))); pass --overwrite to replace them, or choose another --output")
            }
            for name in existing {
                do { try manager.removeItem(at: url.appendingPathComponent(name)) } catch {
                    throw SampleError("\(directory)/\(name): cannot remove it: \(error.localizedDescription)")
                }
            }
        }
        do {
            try manager.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw SampleError("\(directory): cannot create the output directory: \(reason(error))")
        }
        guard manager.isWritableFile(atPath: directory) else {
            throw SampleError("\(directory): the output directory is not writable")
        }
        return ChainOutput(chains: chainIDs.map { url.appendingPathComponent(fileName($0)) },
                           labels: url.appendingPathComponent("labels.json"))
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
