/// One line of the configuration block that opens a Stan CSV file.
///
/// CmdStan writes its argument tree as comment lines, two spaces of indentation per level:
/// `# method = sample (Default)` then `#   sample` then `#     num_samples = 1000`. A line is a
/// key with a value (`num_samples = 1000`) or a bare section name (`sample`, `adapt`, `data`).
/// Readers (CmdStanPy, ArviZ, R posterior) look keys up by their last component, so the leaf names
/// must be CmdStan's own (`num_samples`, `num_warmup`, `save_warmup`, `thin`, `max_depth`, ...).
public struct StanCSVConfigEntry: Equatable, Sendable {
    /// Nesting level: 0 for top-level lines such as `model` or `method`.
    public var depth: Int
    /// The argument or section name.
    public var key: String
    /// The value, or `nil` for a bare section line.
    public var value: String?
    /// Whether CmdStan would mark this value ` (Default)` (the user did not set it).
    public var isDefault: Bool

    public init(depth: Int, key: String, value: String? = nil, isDefault: Bool = false) {
        self.depth = depth
        self.key = key
        self.value = value
        self.isDefault = isDefault
    }

    /// The comment line as CmdStan writes it, without the trailing newline.
    public var line: String {
        let indent = String(repeating: "  ", count: depth)
        guard let value else { return "# \(indent)\(key)" }
        return "# \(indent)\(key) = \(value)" + (isDefault ? " (Default)" : "")
    }
}

/// The ordered configuration block of a Stan CSV file.
public struct StanCSVConfiguration: Equatable, Sendable {
    public var entries: [StanCSVConfigEntry]

    public init(entries: [StanCSVConfigEntry]) {
        self.entries = entries
    }

    /// Leaf key → value, the first occurrence winning. This is the lookup CmdStanPy's
    /// `parse_config` does (it keys on the last component), kept as strings.
    public var values: [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            if let value = entry.value, result[entry.key] == nil { result[entry.key] = value }
        }
        return result
    }

    /// Dotted path of every valued entry → value, for keys that repeat under different sections
    /// (`data.file` versus `output.file`). A valued entry is also a parent: `algorithm = hmc` owns
    /// the `hmc` section below it, so `max_depth` is `method.sample.algorithm.hmc.engine.nuts.max_depth`.
    public var qualifiedValues: [String: String] {
        var result: [String: String] = [:]
        var stack: [String] = []
        for entry in entries {
            if stack.count > entry.depth { stack.removeLast(stack.count - entry.depth) }
            while stack.count < entry.depth { stack.append("") }
            let path = (stack + [entry.key]).filter { !$0.isEmpty }.joined(separator: ".")
            if let value = entry.value, result[path] == nil { result[path] = value }
            stack.append(entry.key)
        }
        return result
    }

    /// The configuration CmdStan 2.3x writes for `method=sample` with NUTS, in CmdStan's order,
    /// so that CmdStanPy's `check_sampler_csv` and ArviZ's `from_cmdstan` accept the file.
    ///
    /// `userSet` names the keys to write without ` (Default)`; everything else is marked default
    /// the way CmdStan marks arguments the user did not pass.
    public static func cmdStanSample(
        model: String,
        numSamples: Int = 1000,
        numWarmup: Int = 1000,
        saveWarmup: Bool = false,
        thin: Int = 1,
        adaptEngaged: Bool = true,
        adaptDelta: Double = 0.8,
        maxDepth: Int = 10,
        metric: String = "diag_e",
        stepsize: Double = 1,
        chainID: Int = 1,
        dataFile: String = "",
        initialization: String = "2",
        seed: UInt64,
        outputFile: String,
        refresh: Int = 100,
        userSet: Set<String> = ["num_samples", "num_warmup", "save_warmup", "seed", "id", "file"],
        stanVersion: (major: Int, minor: Int, patch: Int) = (2, 36, 0)
    ) -> StanCSVConfiguration {
        func entry(_ depth: Int, _ key: String, _ value: String?) -> StanCSVConfigEntry {
            StanCSVConfigEntry(depth: depth, key: key, value: value, isDefault: value != nil && !userSet.contains(key))
        }
        let format = StanCSVNumberFormat.format
        return StanCSVConfiguration(entries: sampleHeader(model: model, numSamples: numSamples, numWarmup: numWarmup,
                                                          saveWarmup: saveWarmup, thin: thin, stanVersion: stanVersion, entry: entry) + [
            entry(3, "engaged", adaptEngaged ? "1" : "0"),
            entry(3, "gamma", "0.05"),
            entry(3, "delta", format(adaptDelta)),
            entry(3, "kappa", "0.75"),
            entry(3, "t0", "10"),
            entry(3, "init_buffer", "75"),
            entry(3, "term_buffer", "50"),
            entry(3, "window", "25"),
            entry(2, "algorithm", "hmc"),
            entry(3, "hmc", nil),
            entry(4, "engine", "nuts"),
            entry(5, "nuts", nil),
            entry(6, "max_depth", String(maxDepth)),
            entry(4, "metric", metric),
            entry(4, "metric_file", ""),
            entry(4, "stepsize", format(stepsize)),
            entry(4, "stepsize_jitter", "0"),
        ] + runEntries(chainID: chainID, dataFile: dataFile, initialization: initialization, seed: seed, outputFile: outputFile, entry: entry) + [
            entry(1, "diagnostic_file", ""),
            entry(1, "refresh", String(refresh)),
            entry(1, "sig_figs", "-1"),
            entry(1, "profile_file", "profile.csv"),
        ])
    }

    /// CmdStan's version lines, `model`, and the `sample` section's opening (`num_samples`,
    /// `num_warmup`, `save_warmup`, `thin`, `adapt`), the part every sampler's block shares.
    static func sampleHeader(model: String, numSamples: Int, numWarmup: Int, saveWarmup: Bool, thin: Int,
                             stanVersion: (major: Int, minor: Int, patch: Int),
                             entry: (Int, String, String?) -> StanCSVConfigEntry) -> [StanCSVConfigEntry] {
        [
            StanCSVConfigEntry(depth: 0, key: "stan_version_major", value: String(stanVersion.major)),
            StanCSVConfigEntry(depth: 0, key: "stan_version_minor", value: String(stanVersion.minor)),
            StanCSVConfigEntry(depth: 0, key: "stan_version_patch", value: String(stanVersion.patch)),
            StanCSVConfigEntry(depth: 0, key: "model", value: model),
            StanCSVConfigEntry(depth: 0, key: "method", value: "sample", isDefault: true),
            entry(1, "sample", nil),
            entry(2, "num_samples", String(numSamples)),
            entry(2, "num_warmup", String(numWarmup)),
            entry(2, "save_warmup", saveWarmup ? "1" : "0"),
            entry(2, "thin", String(thin)),
            entry(2, "adapt", nil),
        ]
    }

    /// The entries after the algorithm's: `num_chains`, `id`, the data file, `init` (when given),
    /// the seed and the output file.
    static func runEntries(chainID: Int, dataFile: String, initialization: String?, seed: UInt64, outputFile: String,
                           entry: (Int, String, String?) -> StanCSVConfigEntry) -> [StanCSVConfigEntry] {
        [entry(2, "num_chains", "1"), entry(0, "id", String(chainID)), entry(0, "data", nil), entry(1, "file", dataFile)]
            + (initialization.map { [entry(0, "init", $0)] } ?? [])
            + [entry(0, "random", nil), entry(1, "seed", String(seed)), entry(0, "output", nil), entry(1, "file", outputFile)]
    }
}

/// The block CmdStan writes between the header and the sampling draws once warmup has adapted
/// the step size and the metric.
public struct StanCSVAdaptation: Equatable, Sendable {
    public enum Metric: Equatable, Sendable {
        /// `unit_e`: no matrix lines follow the step size.
        case unit
        /// `diag_e`: `# Diagonal elements of inverse mass matrix:` and one line of values.
        case diagonal([Double])
        /// `dense_e`: `# Elements of inverse mass matrix:` and one line per row.
        case dense([[Double]])
    }

    public var stepSize: Double
    public var metric: Metric

    public init(stepSize: Double, metric: Metric) {
        self.stepSize = stepSize
        self.metric = metric
    }
}

/// Wall-clock seconds of a run, written as CmdStan's `Elapsed Time` trailer.
public struct StanCSVTiming: Equatable, Sendable {
    public var warmupSeconds: Double
    public var samplingSeconds: Double
    public var totalSeconds: Double

    public init(warmupSeconds: Double, samplingSeconds: Double, totalSeconds: Double? = nil) {
        self.warmupSeconds = warmupSeconds
        self.samplingSeconds = samplingSeconds
        self.totalSeconds = totalSeconds ?? (warmupSeconds + samplingSeconds)
    }
}
