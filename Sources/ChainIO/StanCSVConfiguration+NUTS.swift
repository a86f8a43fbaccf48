extension StanCSVConfiguration {
    /// The configuration block of a NUTS chain written by `mixmc sample --algorithm nuts`
    /// (docs/chain-format.md, "NUTS chains"): CmdStan 2.36's `method = sample` tree as
    /// `cmdStanSample` writes it (`algorithm = hmc`, `engine = nuts`, `max_depth`, `metric`,
    /// `adapt` / `delta`, …), so CmdStanPy and ArviZ read the file as CmdStan output, then
    /// `comments` as bare comment lines (no `=`, which readers would take for a key).
    ///
    /// `init` is `initialization`: mixmc's own start (a jittered REML fit), not a CmdStan radius.
    public static func nutsSample(
        model: String,
        numSamples: Int,
        numWarmup: Int,
        saveWarmup: Bool = false,
        thin: Int,
        adaptDelta: Double,
        maxDepth: Int,
        metric: String,
        chainID: Int,
        dataFile: String,
        initialization: String,
        seed: UInt64,
        outputFile: String,
        userSet: Set<String>,
        comments: [String] = []
    ) -> StanCSVConfiguration {
        var configuration = cmdStanSample(
            model: model, numSamples: numSamples, numWarmup: numWarmup, saveWarmup: saveWarmup, thin: thin,
            adaptEngaged: numWarmup > 0, adaptDelta: adaptDelta, maxDepth: maxDepth, metric: metric,
            chainID: chainID, dataFile: dataFile, initialization: initialization, seed: seed,
            outputFile: outputFile, userSet: userSet)
        configuration.entries += comments.map { StanCSVConfigEntry(depth: 0, key: $0) }
        return configuration
    }
}
