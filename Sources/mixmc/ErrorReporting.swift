import ArgumentParser
import Foundation

func printError(_ message: String) {
    // `try?`: a closed terminal (SIGHUP) or pipe must not stop a run before its files are closed.
    try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
}

/// Runs a command body; a user-facing error (bad data, formula, model file) is printed as its own
/// message, without a stack of wrappers, and the command exits with status 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}
