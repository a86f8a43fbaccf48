import Foundation
import TOMLKit

/// A model kept as a directory (`models/NAME/`): `model.toml` names the data file, the formula,
/// the columns to read as categorical, and the priors file, so one path stands in for the flags.
///
/// ```toml
/// data = "data.csv"                       # relative to the directory
/// formula = "Reaction ~ Days + (Days | Subject)"
/// categorical = []                        # numeric columns to treat as factors
/// priors = "priors.toml"                  # optional
/// family = "binomial"                     # optional: gaussian (default), binomial, poisson
/// link = "probit"                         # optional: the family's canonical link by default
/// weights = "n"                           # optional: prior weights (a proportion's trials)
/// ordered = ["dose"]                      # optional: ordered factors (polynomial contrasts)
/// contrasts = { Machine = "sum" }         # optional: treatment, sum, helmert or poly per factor
/// reference = { Type = "Mississippi" }    # optional: treatment contrasts' reference level
/// ```
public struct ModelDirectory: Sendable, Equatable {
    public let path: String
    public let dataPath: String
    public let formula: String
    public let categorical: [String]
    public let priorsPath: String?
    public let family: String?
    public let link: String?
    public let weights: String?
    /// From `contrasts`, `reference` and `ordered`.
    public let contrasts: Contrasts

    public static let fileName = "model.toml"

    public static func load(path: String) throws -> ModelDirectory {
        let directory = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ModelDirectoryError(file: path, message: "is a file, not a model directory; give a data file as --data \(path) --formula \"y ~ x + (1 | g)\"")
        }
        let file = directory.appendingPathComponent(fileName).path
        guard FileManager.default.fileExists(atPath: file) else {
            throw ModelDirectoryError(file: file, message: "no \(fileName) here; a model directory holds model.toml with `data` and `formula` keys")
        }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ModelDirectoryError(file: file, message: "cannot read the file: \(error.localizedDescription)")
        }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ModelDirectoryError(file: file, message: "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        }
        let known = ["data", "formula", "categorical", "priors", "family", "link", "weights", "ordered", "contrasts", "reference"]
        for key in table.keys where !known.contains(key) {
            throw ModelDirectoryError(file: file, message: "unknown key '\(key)'; the keys are: \(known.joined(separator: ", "))")
        }
        func string(_ key: String, required: Bool) throws -> String? {
            guard let value = table[key] else {
                if required { throw ModelDirectoryError(file: file, message: "missing key '\(key)'") }
                return nil
            }
            guard let text = value.string else { throw ModelDirectoryError(file: file, message: "'\(key)' must be a string") }
            return text
        }
        func names(_ key: String, example: String) throws -> [String] {
            guard let value = table[key] else { return [] }
            guard let array = value.array, array.allSatisfy({ $0.string != nil }) else {
                throw ModelDirectoryError(file: file, message: "'\(key)' must be an array of column names, e.g. \(key) = [\"\(example)\"]")
            }
            return array.compactMap(\.string)
        }
        func assignments(_ key: String, example: String) throws -> [String: String] {
            guard let value = table[key] else { return [:] }
            guard let inner = value.table, inner.keys.allSatisfy({ inner[$0]?.string != nil }) else {
                throw ModelDirectoryError(file: file, message: "'\(key)' must be a table of strings, e.g. \(key) = { \(example) }")
            }
            return Dictionary(uniqueKeysWithValues: inner.keys.map { ($0, inner[$0]!.string!) })
        }
        let categorical = try names("categorical", example: "Days")
        var contrasts = Contrasts(references: try assignments("reference", example: "Type = \"Mississippi\""),
                                  ordered: Set(try names("ordered", example: "dose")))
        for (factor, name) in try assignments("contrasts", example: "Machine = \"sum\"") {
            guard let kind = ContrastKind(name: name) else {
                throw ModelDirectoryError(file: file, message: "unknown contrasts '\(name)' for \(factor); use one of: \(ContrastKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            contrasts.kinds[factor] = kind
        }
        let data = try string("data", required: true)!
        return ModelDirectory(
            path: path,
            dataPath: directory.appendingPathComponent(data).path,
            formula: try string("formula", required: true)!,
            categorical: categorical,
            priorsPath: try string("priors", required: false).map { directory.appendingPathComponent($0).path },
            family: try string("family", required: false),
            link: try string("link", required: false),
            weights: try string("weights", required: false),
            contrasts: contrasts)
    }
}

public struct ModelDirectoryError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}
