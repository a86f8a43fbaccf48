extension StanCSVConfiguration {
    /// The configuration block of a Gibbs chain written by `mixmc sample` (docs/chain-format.md,
    /// "Gibbs chains"): CmdStan's `method = sample` tree with the keys readers need
    /// (`num_samples`, `num_warmup`, `save_warmup`, `thin`, `algorithm`, `num_chains`, `id`,
    /// `data.file`, `seed`, `output.file`), `algorithm = gibbs` (no `hmc` subtree, no adaptation),
    /// then `comments` as bare comment lines.
    ///
    /// `algorithm` is `gibbs`: CmdStanPy and ArviZ read the value but only branch on `hmc` versus
    /// `fixed_param`-style output (a file with fewer than seven `__` columns has no adaptation
    /// block), so no reader needs the misleading `hmc`.
    public static func gibbsSample(
        model: String,
        numSamples: Int,
        numWarmup: Int,
        thin: Int,
        chainID: Int,
        dataFile: String,
        seed: UInt64,
        outputFile: String,
        userSet: Set<String>,
        comments: [String] = [],
        stanVersion: (major: Int, minor: Int, patch: Int) = (2, 36, 0)
    ) -> StanCSVConfiguration {
        func entry(_ depth: Int, _ key: String, _ value: String?) -> StanCSVConfigEntry {
            StanCSVConfigEntry(depth: depth, key: key, value: value, isDefault: value != nil && !userSet.contains(key))
        }
        var entries = sampleHeader(model: model, numSamples: numSamples, numWarmup: numWarmup, saveWarmup: false,
                                   thin: thin, stanVersion: stanVersion, entry: entry)
        entries += [
            StanCSVConfigEntry(depth: 3, key: "engaged", value: "0"),
            StanCSVConfigEntry(depth: 2, key: "algorithm", value: "gibbs"),
        ]
        entries += runEntries(chainID: chainID, dataFile: dataFile, initialization: nil, seed: seed, outputFile: outputFile, entry: entry)
        entries += comments.map { StanCSVConfigEntry(depth: 0, key: $0) }
        return StanCSVConfiguration(entries: entries)
    }
}
