import Foundation

/// What a run of the built `mixmc` executable printed and returned.
public struct CommandResult: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// Runs the built `mixmc` with `arguments` (from the repository root, so `models/...` paths work).
public func runMixmc(_ arguments: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = Fixtures.mixmcExecutable
    process.arguments = arguments
    process.currentDirectoryURL = Fixtures.repositoryRoot
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read both pipes before waiting, or a large output fills the pipe and the child blocks.
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus,
                         standardOutput: String(decoding: outputData, as: UTF8.self),
                         standardError: String(decoding: errorData, as: UTF8.self))
}
