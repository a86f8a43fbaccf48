import Foundation
import Testing
import TestSupport
import Samplers

/// The long SBC tier (docs/calibration.md): 1000 replications per model, 20 bins, level 0.01 per
/// model (Bonferroni over its parameters); with and without interweaving. Runs only with
/// `MIXMC_SBC_LONG=1` (`MIXMC_SBC_SEED` overrides the seed, to tell a chance rejection from a
/// reproducible one):
///
///   MIXMC_SBC_LONG=1 swift test -c release -Xswiftc -enable-testing --filter CalibrationLongTests
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MIXMC_SBC_LONG"] == "1"))
struct CalibrationLongTests {
    struct Case: Sendable, CustomStringConvertible {
        let model: CalibrationModel
        let thin: Int
        let interweaves: Bool
        var description: String { "\(model), thin \(thin), interweaving \(interweaves ? "on" : "off")" }
    }

    static let cases: [Case] = [
        Case(model: CalibrationModel(groups: 10, perGroup: 5, correlatedSlope: false), thin: 5, interweaves: true),
        Case(model: CalibrationModel(groups: 10, perGroup: 5, correlatedSlope: false), thin: 10, interweaves: false),
        Case(model: CalibrationModel(groups: 8, perGroup: 6, correlatedSlope: true), thin: 10, interweaves: true),
        Case(model: CalibrationModel(groups: 30, perGroup: 2, correlatedSlope: false), thin: 5, interweaves: true),
        Case(model: CalibrationModel(groups: 20, perGroup: 4, correlatedSlope: true), thin: 10, interweaves: true),
    ]

    @Test(arguments: cases)
    func ranksAreUniform(_ example: Case) throws {
        let seed = ProcessInfo.processInfo.environment["MIXMC_SBC_SEED"].flatMap { UInt64($0) } ?? 77_000_001
        let result = try runCalibration(model: example.model, replications: 1000, seed: seed,
                                        settings: CalibrationSettings(thin: example.thin, interweaves: example.interweaves))
        let critical = familyCriticalValue(bins: 20, parameters: result.parameterNames.count)
        for (i, name) in result.parameterNames.enumerated() {
            let statistic = result.chiSquare(parameter: i, bins: 20)
            print("SBC long \(example) \(name): χ² = \(String(format: "%.2f", statistic)), median ESS/L = \(String(format: "%.2f", result.medianRelativeESS(parameter: i))), bins \(result.histogram(parameter: i, bins: 20))")
            #expect(statistic < critical, "\(example): \(name) ranks χ² = \(statistic) ≥ \(critical), bins \(result.histogram(parameter: i, bins: 20))")
        }
    }
}
