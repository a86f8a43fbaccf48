# Exports lme4's Penicillin (crossed) and Pastes (nested) data to models/ and writes lme4's REML
# and ML fits of them to Tests/Fixtures/lme4_fits_more.json, in the layout of
# ../shared/data/reference/lme4_fits.json. Run from the repository root:
#   Rscript scripts/make_lme4_fixtures.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-jsonlite)
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })

dir.create("models/penicillin", showWarnings = FALSE)
dir.create("models/pastes", showWarnings = FALSE)
write.csv(Penicillin[, c("diameter", "plate", "sample")], "models/penicillin/data.csv", row.names = FALSE)
write.csv(Pastes[, c("strength", "batch", "cask", "sample")], "models/pastes/data.csv", row.names = FALSE)

describe <- function(fit, model, data, formula) {
  vc <- as.data.frame(VarCorr(fit))
  fe <- summary(fit)$coefficients
  re <- ranef(fit, condVar = TRUE)
  ranef_first5 <- lapply(names(re), function(g) {
    r <- re[[g]]
    pv <- attr(r, "postVar")
    k <- ncol(r)
    n <- min(5, nrow(r))
    modes <- lapply(seq_len(k), function(j) r[seq_len(n), j])
    sds <- lapply(seq_len(k), function(j) sqrt(pv[j, j, seq_len(n)]))
    names(modes) <- names(sds) <- colnames(r)
    list(levels = rownames(r)[seq_len(n)], n_levels = nrow(r), modes = modes, cond_sd = sds)
  })
  names(ranef_first5) <- names(re)
  fixef <- lapply(seq_len(nrow(fe)), function(i) list(estimate = fe[i, 1], std_error = fe[i, 2], t_value = fe[i, 3]))
  names(fixef) <- rownames(fe)
  reml <- isREML(fit)
  list(
    REML = reml,
    theta = as.list(getME(fit, "theta")),
    sigma = sigma(fit),
    varcomp = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], var1 = ifelse(is.na(vc$var1[i]), "", vc$var1[i]),
                                                         var2 = ifelse(is.na(vc$var2[i]), "", vc$var2[i]),
                                                         vcov = vc$vcov[i], sdcor = vc$sdcor[i])),
    fixef = fixef,
    REML_criterion = if (reml) unname(REMLcrit(fit)) else NULL,
    deviance = if (!reml) unname(deviance(fit)) else NULL,
    logLik = as.numeric(logLik(fit)),
    AIC = AIC(fit), BIC = BIC(fit),
    nobs = nobs(fit),
    ngrps = as.list(ngrps(fit)),
    is_singular = isSingular(fit),
    ranef_first5 = ranef_first5,
    model = model, data = data, formula = formula
  )
}

fits <- list()
models <- list(
  list(name = "Penicillin", data = "penicillin", formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", frame = Penicillin),
  list(name = "Pastes", data = "pastes", formula = "strength ~ 1 + (1 | batch/cask)", frame = Pastes)
)
for (m in models) {
  for (reml in c(TRUE, FALSE)) {
    fit <- lmer(as.formula(m$formula), data = m$frame, REML = reml)
    fits[[paste0(m$name, if (reml) "_REML" else "_ML")]] <- describe(fit, m$name, m$data, m$formula)
  }
}
out <- list(generated_by = paste("lme4", packageVersion("lme4"), "on", R.version.string), fits = fits)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "Tests/Fixtures/lme4_fits_more.json")
