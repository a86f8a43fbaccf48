// Seconds and MB/s of reading a CSV file into typed columns (`DataTable.read`), and of building
// the design from it, as `mixmc describe` does: the columns the formula uses only, grouping
// factors declared categorical. See Benchmarks/README.md.
//
//     CSVRead FILE.csv [--formula F] [--repeats R] [--all-columns] [--no-design]
//
// Prints per repeat the read's and the design's seconds, wall and CPU (user + system), the read's
// MB/s (file bytes / read seconds, 10^6 bytes), and at the end the process's peak resident
// memory (getrusage).
import Foundation
import ModelSpec

var path: String?
var formulaText = "y ~ x + (1 | g) + (1 | h)"
var repeats = 1
var allColumns = false
var design = true
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--formula": formulaText = arguments.next() ?? formulaText
    case "--repeats": repeats = Int(arguments.next() ?? "") ?? repeats
    case "--all-columns": allColumns = true
    case "--no-design": design = false
    default:
        guard !argument.hasPrefix("-"), path == nil else {
            FileHandle.standardError.write(Data("usage: CSVRead FILE.csv [--formula F] [--repeats R] [--all-columns] [--no-design]\n".utf8))
            exit(2)
        }
        path = argument
    }
}
guard let path else {
    FileHandle.standardError.write(Data("usage: CSVRead FILE.csv [--formula F] [--repeats R] [--all-columns] [--no-design]\n".utf8))
    exit(2)
}

func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

/// CPU seconds of this process so far (user + system), which a loaded machine inflates less than wall time.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

let bytes = Double((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)
let formula = try Formula.parse(formulaText)
let (used, grouping) = Design.variables(of: formula)
print("file \(path): \(String(format: "%.1f", bytes / 1e6)) MB; formula \(formulaText); columns read: \(allColumns ? "all" : used.joined(separator: ", "))")
for run in 1...repeats {
    let start = DispatchTime.now().uptimeNanoseconds
    let cpuStart = cpuSeconds()
    let table = try DataTable.read(path: path, categorical: grouping, columns: allColumns ? nil : Set(used))
    let readSeconds = seconds(since: start)
    let readCPU = cpuSeconds() - cpuStart
    var line = String(format: "run %d: read %.3f s (%.0f MB/s; CPU %.3f s, %.0f MB/s), %d rows", run, readSeconds, bytes / 1e6 / readSeconds,
                      readCPU, bytes / 1e6 / readCPU, table.rowCount)
    if design {
        let designStart = DispatchTime.now().uptimeNanoseconds
        let designCPUStart = cpuSeconds()
        let built = try Design.build(data: table, formula: formula)
        line += String(format: "; design %.3f s (CPU %.3f s; %d x %d fixed, %d terms)", seconds(since: designStart), cpuSeconds() - designCPUStart,
                       built.observationCount, built.fixedCount, built.terms.count)
    }
    print(line)
}
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
print(String(format: "peak RSS %.0f MB", Double(usage.ru_maxrss) / 1024))
