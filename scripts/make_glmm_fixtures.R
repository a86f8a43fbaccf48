# Writes GLMM reference data to Tests/Fixtures/data/ and lme4 1.1-31 / MASS::glmmPQL results to
# Tests/Fixtures/lme4_glmm_more.json, in the layout of ../shared/data/glmm/lme4_glmm_fits.json
# (see Tests/Fixtures/README-glmm.md). Run from the repository root:
#   Rscript scripts/make_glmm_fixtures.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-jsonlite r-cran-mass r-cran-nlme)
# Every model is fitted on the data as read back from the CSV written here, so the fixture and the
# file mixmc reads are the same numbers. Factors are written as labels that are not numbers.
# Fits run one after another (no parallel work); nothing is timed.
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })

shared <- Sys.getenv("MIXMC_SHARED_DATA", "../shared/data")
if (!file.exists(file.path(shared, "glmm", "cbpp.csv"))) shared <- "/work/shared/data"
out_dir <- "Tests/Fixtures/data"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

write_and_read <- function(frame, file) {
  path <- file.path(out_dir, file)
  write.csv(frame, path, row.names = FALSE)
  read.csv(path, stringsAsFactors = TRUE)
}

## ---- data ------------------------------------------------------------------------------------

cb <- read.csv(file.path(shared, "glmm", "cbpp.csv"))
cbpp_l <- data.frame(herd = sprintf("h%02d", cb$herd), incidence = cb$incidence, size = cb$size,
                     period = paste0("p", cb$period), prop = cb$incidence / cb$size)
cbpp_l <- write_and_read(cbpp_l, "cbpp_labels.csv")

# (d) correlated random intercept and slope, binary response: 40 groups x 15 rows.
# True: beta = (-0.3, 0.7), SD(intercept) = 1, SD(slope) = 0.8, correlation 0.5.
set.seed(1)
G <- 40; n_per <- 15
S <- matrix(c(1, 0.5 * 0.8, 0.5 * 0.8, 0.64), 2)
b <- MASS::mvrnorm(G, c(0, 0), S)
gi <- rep(seq_len(G), each = n_per)
x <- round(rnorm(G * n_per), 4)
y <- rbinom(G * n_per, 1, plogis(-0.3 + b[gi, 1] + (0.7 + b[gi, 2]) * x))
binslope <- write_and_read(data.frame(y = y, x = x, g = sprintf("g%02d", gi)), "sim_binomial_slope.csv")

# (e) Poisson counts with exposure t: 30 groups x 10 rows, log-exposure offset column log_t.
# True: beta = (0.5, 0.4), SD(intercept) = 0.6.
set.seed(2)
G <- 30; n_per <- 10
gi <- rep(seq_len(G), each = n_per)
bg <- rnorm(G, 0, 0.6)
t_exp <- round(runif(G * n_per, 0.5, 3), 3)
x <- round(rnorm(G * n_per), 4)
y <- rpois(G * n_per, t_exp * exp(0.5 + 0.4 * x + bg[gi]))
poisoff <- write_and_read(data.frame(y = y, x = x, t = t_exp, log_t = log(t_exp), g = sprintf("g%02d", gi)),
                          "sim_poisson_offset.csv")

# (f) sleepstudy with a weights column w = 1 + (Days %% 3)
ss <- read.csv(file.path(shared, "sleepstudy.csv"))
sleepw <- write_and_read(data.frame(Reaction = ss$Reaction, Days = ss$Days, Subject = paste0("S", ss$Subject),
                                    w = 1 + (ss$Days %% 3)), "sleepstudy_weighted.csv")

# (i) grouseticks with labelled factors
gt <- read.csv(file.path(shared, "glmm", "grouseticks.csv"))
grouse_l <- write_and_read(data.frame(INDEX = sprintf("i%03d", gt$INDEX), TICKS = gt$TICKS, BROOD = paste0("b", gt$BROOD),
                                      HEIGHT = gt$HEIGHT, YEAR = paste0("y", gt$YEAR), LOCATION = sprintf("l%02d", gt$LOCATION),
                                      HEIGHT_s = gt$HEIGHT_s), "grouseticks_labels.csv")

## ---- helpers ---------------------------------------------------------------------------------

tight_ctrl <- list(xtol_abs = 1e-10, ftol_abs = 1e-12, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5)
tight_how_glmer <- paste("glmer(same formula, data, family, nAGQ, weights, start = list(theta = getME(fit, 'theta'),",
                         "fixef = fixef(fit)) (theta only for nAGQ = 0), control = glmerControl(optimizer = 'nloptwrap',",
                         "optCtrl = list(xtol_abs = 1e-10, ftol_abs = 1e-12, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5)))")

# Evaluates expr, collecting (and muffling) warnings and messages.
capture <- function(expr) {
  warns <- character(); msgs <- character()
  value <- withCallingHandlers(expr,
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") })
  list(value = value, warnings = warns, messages = msgs)
}

run_glmer <- function(formula, data, family, nAGQ = 1L, weights = NULL, start = NULL, control = glmerControl()) {
  call <- bquote(glmer(.(formula), data = data, family = family, nAGQ = .(nAGQ), start = start, control = control))
  if (!is.null(weights)) call$weights <- as.name(weights)
  capture(eval(call))
}

run_lmer <- function(formula, data, REML, weights = NULL, start = NULL, control = lmerControl()) {
  call <- bquote(lmer(.(formula), data = data, REML = .(REML), start = start, control = control))
  if (!is.null(weights)) call$weights <- as.name(weights)
  capture(eval(call))
}

varcomp_list <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  lapply(seq_len(nrow(vc)), function(i) list(
    grp = vc$grp[i], var1 = ifelse(is.na(vc$var1[i]), "", vc$var1[i]), var2 = ifelse(is.na(vc$var2[i]), "", vc$var2[i]),
    vcov = vc$vcov[i], sdcor = vc$sdcor[i], kind = if (is.na(vc$var2[i])) "variance/sd" else "covariance/correlation"))
}

ranef_first5 <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  out <- lapply(names(re), function(g) {
    r <- re[[g]]
    pv <- attr(r, "postVar")
    k <- ncol(r)
    n <- min(5, nrow(r))
    modes <- lapply(seq_len(k), function(j) r[seq_len(n), j])
    sds <- lapply(seq_len(k), function(j) sqrt(pv[j, j, seq_len(n)]))
    names(modes) <- names(sds) <- colnames(r)
    list(levels = rownames(r)[seq_len(n)], n_levels = nrow(r), modes = modes, cond_sd = sds)
  })
  names(out) <- names(re)
  out
}

m2logLik_saturated <- function(fit) {
  r <- fit@resp
  family(fit)$aic(r$y, r$n, r$y, r$weights, 0)
}

# Log density of each group's observations given eta (family constants included), from family$aic.
group_loglik <- function(fam, y, n, wt, eta) -fam$aic(y, n, fam$linkinv(eta), wt, 0) / 2

# Single scalar random intercept only: per group, -2 log of the integral over u ~ N(0, 1) of
# p(y | eta = X beta + offset + theta u), computed (a) exactly with stats::integrate, (b) by Laplace at
# the converged mode with the Fisher (IRLS) information, as lme4 does, (c) by Laplace with the
# observed information, as glmmTMB does. (b) and (c) coincide for canonical links.
scalar_re_checks <- function(fit) {
  fam <- family(fit)
  r <- fit@resp
  th <- unname(getME(fit, "theta"))
  eta0 <- drop(getME(fit, "X") %*% fixef(fit)) + r$offset
  grp <- getME(fit, "flist")[[1]]
  exact <- fisher <- observed <- 0
  for (lev in levels(grp)) {
    i <- which(grp == lev)
    y <- r$y[i]; n <- r$n[i]; wt <- r$weights[i]; e0 <- eta0[i]
    f <- function(u) group_loglik(fam, y, n, wt, e0 + th * u) - u^2 / 2
    grad <- function(u) {
      eta <- e0 + th * u; mu <- fam$linkinv(eta)
      th * sum(wt * (y - mu) * fam$mu.eta(eta) / fam$variance(mu)) - u
    }
    info <- function(u) {
      eta <- e0 + th * u; mu <- fam$linkinv(eta)
      th^2 * sum(wt * fam$mu.eta(eta)^2 / fam$variance(mu)) + 1
    }
    u <- 0
    for (k in 1:100) { step <- grad(u) / info(u); u <- u + step; if (abs(step) < 1e-13) break }
    h <- 1e-5
    hobs <- -(grad(u + h) - grad(u - h)) / (2 * h)
    fu <- f(u)
    fisher <- fisher - 2 * fu + log(info(u))
    observed <- observed - 2 * fu + log(hobs)
    sc <- 1 / sqrt(hobs)
    val <- integrate(function(z) sapply(z, function(zz) exp(f(u + sc * zz) - fu)) * sc / sqrt(2 * pi),
                     -Inf, Inf, rel.tol = 1e-12)$value
    exact <- exact - 2 * (fu + log(val))
  }
  list(exact = exact, laplace_fisher = fisher, laplace_observed = observed)
}

describe_glmm <- function(res, model, data_file, formula, family_name, link, nAGQ, weights = NULL, note = NULL,
                          tight = NULL) {
  fit <- res$value
  fe <- summary(fit)$coefficients
  # vcov(use.hessian = FALSE) warns when the two differ by > 1e-4: asked for on purpose, so muffled.
  se_rx <- sqrt(diag(as.matrix(suppressWarnings(vcov(fit, use.hessian = FALSE)))))
  fixef <- lapply(seq_len(nrow(fe)), function(i) list(estimate = fe[i, 1], std_error = fe[i, 2],
                                                       std_error_RX = unname(se_rx[i]), z_value = fe[i, 3]))
  names(fixef) <- rownames(fe)
  ll <- logLik(fit)
  sat <- m2logLik_saturated(fit)
  cmp <- getME(fit, "devcomp")$cmp
  single_scalar <- length(getME(fit, "flist")) == 1 && length(getME(fit, "theta")) == 1
  checks <- if (single_scalar) scalar_re_checks(fit) else NULL
  entry <- list(
    model = model, data = data_file, formula = formula, weights = weights, family = family_name, link = link,
    nAGQ = nAGQ, note = note,
    deviance = -2 * as.numeric(ll), logLik = as.numeric(ll), logLik_df = attr(ll, "df"),
    AIC = AIC(fit), BIC = BIC(fit),
    deviance_lme4_fn = unname(deviance(fit)),
    m2logLik_saturated = sat,
    deviance_with_constants = -2 * as.numeric(ll) + if (nAGQ > 1) sat else 0,
    devcomp_cmp = as.list(cmp[c("ldL2", "ldRX2", "wrss", "ussq", "pwrss", "drsum", "dev")]),
    theta = as.list(getME(fit, "theta")),
    fixef = fixef,
    vcov_fixef = unname(as.matrix(vcov(fit))),
    varcomp = varcomp_list(fit),
    nobs = nobs(fit), ngrps = as.list(ngrps(fit)),
    is_singular = isSingular(fit),
    optimizer = fit@optinfo$optimizer, feval = fit@optinfo$feval, conv_opt = fit@optinfo$conv$opt,
    conv_messages = fit@optinfo$message,
    lme4_conv_messages = I(as.character(unlist(fit@optinfo$conv$lme4$messages))),
    warnings_during_fit = I(res$warnings),
    ranef_first5 = ranef_first5(fit)
  )
  if (!is.null(checks)) {
    entry$check_exact_m2logLik_at_estimates <- checks$exact
    entry$laplace_at_estimates_converged_modes <- list(fisher_weights = checks$laplace_fisher,
                                                       observed_hessian = checks$laplace_observed)
  }
  if (!is.null(tight)) {
    tf <- tight$value
    tfe <- summary(tf)$coefficients
    entry$tight_refit <- list(
      how = tight_how_glmer,
      deviance = -2 * as.numeric(logLik(tf)),
      deviance_change = -2 * as.numeric(logLik(tf)) - entry$deviance,
      theta = as.list(getME(tf, "theta")),
      fixef = as.list(fixef(tf)),
      fixef_std_error = as.list(setNames(tfe[, 2], rownames(tfe))),
      feval = tf@optinfo$feval,
      warnings = I(tight$warnings))
  }
  entry
}

glmm_fit <- function(model, data, data_file, formula, family, nAGQ = 1L, weights = NULL, note = NULL) {
  cat(model, "\n")
  f <- as.formula(formula)
  res <- run_glmer(f, data, family, nAGQ = nAGQ, weights = weights)
  fit <- res$value
  start <- if (nAGQ == 0) list(theta = getME(fit, "theta")) else list(theta = getME(fit, "theta"), fixef = fixef(fit))
  tight <- run_glmer(f, data, family, nAGQ = nAGQ, weights = weights, start = start,
                     control = glmerControl(optimizer = "nloptwrap", optCtrl = tight_ctrl))
  describe_glmm(res, model, data_file, formula, family$family, family$link, nAGQ, weights, note, tight)
}

## ---- GLMM fits (lme4) ------------------------------------------------------------------------

fits <- list()
cbpp_f <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
fits$cbpp_logit <- glmm_fit("cbpp_logit", cbpp_l, "cbpp_labels.csv", cbpp_f, binomial(),
                            note = "baseline: same fit as the shared file's cbpp_laplace, on the labelled data")
fits$cbpp_probit <- glmm_fit("cbpp_probit", cbpp_l, "cbpp_labels.csv", cbpp_f, binomial(link = "probit"),
                             note = "non-canonical link: lme4's Laplace uses the IRLS (Fisher) weights in the determinant; laplace_at_estimates_converged_modes gives both conventions")
fits$cbpp_proportion_weights <- glmm_fit("cbpp_proportion_weights", cbpp_l, "cbpp_labels.csv", "prop ~ period + (1 | herd)",
                                         binomial(), weights = "size",
                                         note = "prop = incidence/size with prior weights = size; the same model as cbpp_logit")
fits$cbpp_cloglog <- glmm_fit("cbpp_cloglog", cbpp_l, "cbpp_labels.csv", cbpp_f, binomial(link = "cloglog"),
                              note = "non-canonical link: lme4's Laplace uses the IRLS (Fisher) weights in the determinant; laplace_at_estimates_converged_modes gives both conventions")
fits$binomial_slope <- glmm_fit("binomial_slope", binslope, "sim_binomial_slope.csv", "y ~ x + (1 + x | g)", binomial(),
                                note = "simulated (set.seed(1)): 40 groups x 15 binary rows, true beta (-0.3, 0.7), SDs (1, 0.8), correlation 0.5")
fits$poisson_offset <- glmm_fit("poisson_offset", poisoff, "sim_poisson_offset.csv", "y ~ x + offset(log_t) + (1 | g)", poisson(),
                                note = "simulated (set.seed(2)): 30 groups x 10 rows, exposure t, log_t = log(t); true beta (0.5, 0.4), SD 0.6")
fits$cbpp_agq5 <- glmm_fit("cbpp_agq5", cbpp_l, "cbpp_labels.csv", cbpp_f, binomial(), nAGQ = 5L,
                           note = "nAGQ > 1: lme4's deviance excludes m2logLik_saturated")
fits$cbpp_agq25 <- glmm_fit("cbpp_agq25", cbpp_l, "cbpp_labels.csv", cbpp_f, binomial(), nAGQ = 25L,
                            note = "nAGQ > 1: lme4's deviance excludes m2logLik_saturated")
fits$grouseticks_nAGQ0 <- glmm_fit("grouseticks_nAGQ0", grouse_l, "grouseticks_labels.csv",
                                   "TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", poisson(), nAGQ = 0L,
                                   note = paste("nAGQ = 0: theta optimised with beta inside PIRLS; the SEs are the RX ones.",
                                                "Reproducible across R processes only to about 1e-6 relative in theta and beta (deviance to 1e-11): the",
                                                "surface is flat and OpenBLAS rounding differs between processes (even with OPENBLAS_NUM_THREADS=1);",
                                                "compare the deviance tightly and theta/beta at about 1e-5"))

## ---- weighted Gaussian LMM (lme4) ------------------------------------------------------------

# -2 log L (ML) and the REML criterion at the estimates, computed with dense matrices:
# y ~ N(X beta, sigma^2 (Z Lambda Lambda' Z' + W^-1)).
lmm_direct <- function(fit, w) {
  X <- getME(fit, "X"); Z <- as.matrix(getME(fit, "Z")); L <- as.matrix(getME(fit, "Lambda"))
  y <- getME(fit, "y"); s2 <- sigma(fit)^2
  V <- s2 * (Z %*% L %*% t(L) %*% t(Z) + diag(1 / w))
  Vi <- solve(V)
  r <- y - X %*% fixef(fit)
  ldV <- as.numeric(determinant(V)$modulus)
  m2ll <- length(y) * log(2 * pi) + ldV + drop(t(r) %*% Vi %*% r)
  XtViX <- t(X) %*% Vi %*% X
  # GLS beta for this V, as REML/ML profiles it
  bgls <- solve(XtViX, t(X) %*% Vi %*% y)
  rg <- y - X %*% bgls
  reml <- (length(y) - ncol(X)) * log(2 * pi) + ldV + as.numeric(determinant(XtViX)$modulus) + drop(t(rg) %*% Vi %*% rg)
  list(m2logLik = m2ll, REML_criterion = reml, sum_log_w = sum(log(w)))
}

describe_lmm <- function(res, tight, model, data_file, formula, weights) {
  fit <- res$value
  fe <- summary(fit)$coefficients
  fixef <- lapply(seq_len(nrow(fe)), function(i) list(estimate = fe[i, 1], std_error = fe[i, 2], t_value = fe[i, 3]))
  names(fixef) <- rownames(fe)
  reml <- isREML(fit)
  cmp <- getME(fit, "devcomp")$cmp
  direct <- lmm_direct(fit, weights(fit))
  tf <- tight$value
  list(
    model = model, data = data_file, formula = formula, weights = "w", family = "gaussian", link = "identity",
    REML = reml,
    REML_criterion = if (reml) unname(REMLcrit(fit)) else NULL,
    deviance = if (!reml) unname(deviance(fit)) else NULL,
    deviance_REML_FALSE = unname(deviance(fit, REML = FALSE)),
    logLik = as.numeric(logLik(fit)), logLik_df = attr(logLik(fit), "df"),
    AIC = AIC(fit), BIC = BIC(fit),
    devcomp_cmp = as.list(cmp),
    theta = as.list(getME(fit, "theta")),
    sigma = sigma(fit),
    fixef = fixef,
    vcov_fixef = unname(as.matrix(vcov(fit))),
    varcomp = varcomp_list(fit),
    nobs = nobs(fit), ngrps = as.list(ngrps(fit)),
    is_singular = isSingular(fit),
    optimizer = fit@optinfo$optimizer, feval = fit@optinfo$feval,
    warnings_during_fit = I(res$warnings),
    ranef_first5 = ranef_first5(fit),
    check_direct_at_estimates = list(
      what = "dense-matrix -2 log L = n log(2 pi) + log|V| + r'V^-1 r and REML = (n - p) log(2 pi) + log|V| + log|X'V^-1 X| + r'V^-1 r (GLS beta), V = sigma^2 (Z Lambda Lambda' Z' + diag(1/w)); sum_log_w = sum(log(w))",
      m2logLik = direct$m2logLik, REML_criterion = direct$REML_criterion, sum_log_w = direct$sum_log_w),
    tight_refit = list(
      how = "lmer(same formula, data, REML, weights = w, start = getME(fit, 'theta'), control = lmerControl(optimizer = 'nloptwrap', optCtrl = list(xtol_abs = 1e-10, ftol_abs = 1e-12, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5)))",
      criterion = if (reml) unname(REMLcrit(tf)) else unname(deviance(tf)),
      theta = as.list(getME(tf, "theta")), sigma = sigma(tf), fixef = as.list(fixef(tf)),
      fixef_std_error = as.list(setNames(summary(tf)$coefficients[, 2], rownames(summary(tf)$coefficients))),
      feval = tf@optinfo$feval, warnings = I(tight$warnings))
  )
}

sleep_f <- "Reaction ~ Days + (Days | Subject)"
for (reml in c(TRUE, FALSE)) {
  name <- paste0("sleepstudy_weighted_", if (reml) "REML" else "ML")
  cat(name, "\n")
  res <- run_lmer(as.formula(sleep_f), sleepw, reml, weights = "w")
  tight <- run_lmer(as.formula(sleep_f), sleepw, reml, weights = "w", start = getME(res$value, "theta"),
                    control = lmerControl(optimizer = "nloptwrap", optCtrl = tight_ctrl))
  fits[[name]] <- describe_lmm(res, tight, name, "sleepstudy_weighted.csv", sleep_f, sleepw$w)
}

## ---- PQL (MASS::glmmPQL) ---------------------------------------------------------------------

pql_fit <- function(model, data, data_file, fixed, random, family, group) {
  cat(model, "\n")
  # Evaluated with the data bound to the CSV's stem so that fit$call names it.
  env <- new.env()
  data_name <- sub("\\.csv$", "", data_file)
  assign(data_name, data, envir = env)
  call <- bquote(MASS::glmmPQL(.(as.formula(fixed)), random = .(as.formula(random)), family = .(as.name(family$family))(link = .(family$link)),
                              data = .(as.name(data_name)), verbose = TRUE))
  res <- capture(eval(call, env))
  fit <- res$value
  iterations <- length(grep("^iteration", res$messages))
  sm <- summary(fit)
  tt <- sm$tTable
  se_varfix <- sqrt(diag(as.matrix(fit$varFix)))
  fixef <- lapply(seq_len(nrow(tt)), function(i) list(estimate = tt[i, "Value"], std_error = tt[i, "Std.Error"],
                                                      std_error_varFix = unname(se_varfix[i]),
                                                      DF = tt[i, "DF"], t_value = tt[i, "t-value"]))
  names(fixef) <- rownames(tt)
  re <- nlme::ranef(fit)
  n5 <- min(5, nrow(re))
  N <- fit$dims$N; p <- length(nlme::fixef(fit))

  # Verification: the last working model glmmPQL handed to nlme::lme (kept in fit$data: zz, invwt),
  # refitted by lme4 as a weighted LMM with weights 1/invwt, by ML and by REML.
  wd <- fit$data
  wd$pql_w <- 1 / wd$invwt
  labels <- attr(terms(fit$fixed2 %||% as.formula(fixed)), "term.labels")
  lf <- as.formula(paste("zz ~", paste(labels, collapse = " + "), "+ (1 |", group, ")"))
  ml <- lmer(lf, data = wd, weights = pql_w, REML = FALSE)
  rl <- lmer(lf, data = wd, weights = pql_w, REML = TRUE)
  nl_reml <- nlme::lme(reformulate(labels, response = "zz"), random = as.formula(random), data = wd,
                       weights = nlme::varFixed(~invwt), method = "REML")
  rel <- function(a, b) max(abs(a - b) / abs(b))
  ml_se <- sqrt(diag(as.matrix(vcov(ml)))); rl_se <- sqrt(diag(as.matrix(vcov(rl))))
  check <- list(
    what = "the final working LMM (zz, invwt from fit$data) refitted: lmer(zz ~ fixed + (1 | group), weights = 1/invwt) by ML and REML, and nlme::lme(method = 'REML'); max relative differences against glmmPQL's lme",
    lme_method = fit$method,
    lmer_ML = list(fixef = as.list(fixef(ml)), std_error = as.list(ml_se), sigma = sigma(ml),
                   random_sd = attr(VarCorr(ml)[[1]], "stddev")[[1]]),
    lmer_REML = list(fixef = as.list(fixef(rl)), std_error = as.list(rl_se), sigma = sigma(rl),
                     random_sd = attr(VarCorr(rl)[[1]], "stddev")[[1]]),
    lme_REML_sigma = nl_reml$sigma,
    rel_diff_varFix_SE_vs_lmer_ML_SE = rel(se_varfix, ml_se),
    rel_diff_summary_SE_vs_lmer_ML_SE = rel(tt[, "Std.Error"], ml_se),
    rel_diff_summary_SE_vs_lmer_ML_SE_times_sqrt_N_over_N_minus_p = rel(tt[, "Std.Error"], ml_se * sqrt(N / (N - p))),
    rel_diff_summary_SE_vs_lmer_REML_SE = rel(tt[, "Std.Error"], rl_se),
    rel_diff_sigma_vs_lmer_ML = abs(fit$sigma - sigma(ml)) / sigma(ml),
    rel_diff_sigma_vs_lmer_REML = abs(fit$sigma - sigma(rl)) / sigma(rl),
    rel_diff_random_sd_vs_lmer_ML = abs(sqrt(as.numeric(nlme::getVarCov(fit))) - attr(VarCorr(ml)[[1]], "stddev")[[1]]) /
      attr(VarCorr(ml)[[1]], "stddev")[[1]],
    rel_diff_fixef_vs_lmer_ML = rel(nlme::fixef(fit), fixef(ml)))
  list(
    model = model, data = data_file, fixed = fixed, random = random, family = family$family, link = family$link,
    method = "MASS::glmmPQL (niter = 10, verbose = TRUE), otherwise defaults",
    fixef = fixef,
    random_sd = sqrt(as.numeric(nlme::getVarCov(fit))),
    random_variance = as.numeric(nlme::getVarCov(fit)),
    residual_scale = fit$sigma,
    iterations = iterations,
    iteration_messages = I(trimws(res$messages)),
    call = paste(trimws(deparse(fit$call, width.cutoff = 500L)), collapse = " "),
    lme_method = fit$method,
    nobs = N, ngrps = as.list(setNames(fit$dims$ngrps[1], group)),
    warnings_during_fit = I(res$warnings),
    ranef_first5 = list(levels = rownames(re)[seq_len(n5)], n_levels = nrow(re), modes = re[seq_len(n5), 1]),
    check_working_lmm = check
  )
}
`%||%` <- function(a, b) if (is.null(a)) b else a

fits$cbpp_PQL <- pql_fit("cbpp_PQL", cbpp_l, "cbpp_labels.csv", "cbind(incidence, size - incidence) ~ period", "~ 1 | herd",
                         binomial(), "herd")
fits$poisson_offset_PQL <- pql_fit("poisson_offset_PQL", poisoff, "sim_poisson_offset.csv", "y ~ x + offset(log_t)", "~ 1 | g",
                                   poisson(), "g")

## ---- output ----------------------------------------------------------------------------------

definitions <- list(
  deviance = "-2 * logLik(fit) as lme4 reports it (= summary()'s 'deviance' = devcomp_cmp$dev). nAGQ = 1 (Laplace): approximate -2 log marginal likelihood INCLUDING the binomial log-choose and Poisson log(y!) constants. nAGQ > 1 (AGQ): lme4 EXCLUDES the saturated-model term, i.e. it reports -2 logLik - m2logLik_saturated. nAGQ = 0: the Laplace formula at the nAGQ = 0 optimum (beta from PIRLS)",
  m2logLik_saturated = "-2 * sum log p(y_i | mu_i = y_i) with the family's constants: family(fit)$aic(y, n, y, w, 0) with y, n, weights from fit@resp",
  deviance_with_constants = "deviance + (nAGQ > 1 ? m2logLik_saturated : 0): -2 log marginal likelihood on the Laplace convention, comparable across nAGQ and with check_exact_m2logLik_at_estimates",
  deviance_lme4_fn = "lme4's deviance(fit) for GLMMs = sum of squared deviance residuals at the conditional modes (NOT -2 logLik)",
  theta = "lme4 relative covariance factor named as getME(fit, 'theta'); for binomial/Poisson (sigma = 1) the lower Cholesky factor of each term's covariance, column-major (g.(Intercept), g.x.(Intercept), g.x); scalar terms: theta = SD. For LMMs theta is relative to sigma",
  fixef.std_error = "summary(fit) SE: for nAGQ > 0, from the finite-difference Hessian of the deviance w.r.t. (theta, beta) (vcov use.hessian = TRUE, lme4 default); vcov_fixef is that matrix. For LMMs and nAGQ = 0 the usual RX-based SE",
  fixef.std_error_RX = "SE from vcov(fit, use.hessian = FALSE): from PIRLS's RX factor at the optimum (conditional on theta)",
  ranef_first5 = "conditional modes (condval) and conditional SDs (condsd) for the first 5 levels in R's factor-level order (sorted labels); match by label",
  check_exact_m2logLik_at_estimates = "single scalar random intercept only: -2 log marginal likelihood at lme4's estimates computed here with stats::integrate (rel.tol 1e-12) per group, constants included",
  laplace_at_estimates_converged_modes = "single scalar random intercept only: Laplace -2 log L at lme4's (theta, beta) with the conditional modes converged to 1e-13 (so slightly below lme4's reported deviance, whose PIRLS stops early): fisher_weights = sum_g [-2 f_g(u) + log(theta^2 sum w mu_eta^2 / V(mu) + 1)] (lme4's convention), observed_hessian = the same with -f_g''(u) (glmmTMB's); f_g(u) = sum log p(y | eta) - u^2/2",
  tight_refit = "the same fit restarted at lme4's optimum with nloptwrap and absolute tolerances (see 'how'); deviance_change = tight - reported (negative: lme4's optimum was slightly off)",
  weights = "name of the prior-weights column (lme4 weights =), null when none",
  PQL = "MASS::glmmPQL fits: fixef std_error = summary(fit)$tTable[, 'Std.Error'] (includes nlme's adjustSigma factor sqrt(N/(N-p)) because the lme is ML), std_error_varFix = sqrt(diag(fit$varFix)) (no factor); random_sd = VarCorr StdDev; residual_scale = fit$sigma; iterations = number of lme fits (one 'iteration k' message each); see notes.PQL"
)

notes <- list(
  PQL = paste(
    paste0("MASS::glmmPQL (MASS ", format(packageVersion("MASS")), ")"), "hard-codes mcall$method <- 'ML': every working LMM is fitted by nlme::lme with method = 'ML',",
    "weights = varFixed(~invwt), invwt = 1 / (prior weight * mu.eta^2 / variance(mu)), response zz = eta + (y - mu)/mu.eta - offset.",
    "It starts from glm(fixed, family, weights) and stops after an lme fit when sum((eta - eta_old)^2) < 1e-6 * sum(eta^2) (eta = fitted(lme) + offset), at most niter = 10 fits.",
    "nlme's fit$varFix = sigma_ML^2 (X' V^-1 X)^-1 with sigma_ML^2 = pwrss / N (no N - p): sqrt(diag(varFix)) equals lme4's ML vcov SE of the same working LMM (see check_working_lmm).",
    "summary(fit) (summary.lme, adjustSigma = TRUE) multiplies the ML fixed-effect SEs by sqrt(N / (N - p)), N = number of rows (56 for cbpp, not the binomial total), p = number of fixed effects:",
    "the tTable Std.Error (the usual PQL SE people report) therefore carries that factor; fit$sigma itself is the ML (N-divisor) scale, not adjusted.",
    "fit$logLik is set to NA by glmmPQL (no likelihood for PQL)."),
  cbpp_labels = "herd h01..h15 (zero-padded so R's sorted level order is the numeric order), period p1..p4; prop = incidence/size",
  grouseticks_labels = "INDEX i001..i403, BROOD b501.., YEAR y95/y96/y97, LOCATION l01..l63, HEIGHT_s copied from the shared file",
  sleepstudy_weighted = "Subject S308.., w = 1 + (Days %% 3)"
)

out <- list(
  generated_by = "scripts/make_glmm_fixtures.R",
  date_utc = format(Sys.time(), tz = "UTC", usetz = TRUE),
  R_version = R.version.string,
  lme4_version = format(packageVersion("lme4")),
  Matrix_version = format(packageVersion("Matrix")),
  MASS_version = format(packageVersion("MASS")),
  nlme_version = format(packageVersion("nlme")),
  BLAS = sessionInfo()$BLAS,
  definitions = definitions,
  notes = notes,
  fits = fits
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "Tests/Fixtures/lme4_glmm_more.json")
cat("wrote Tests/Fixtures/lme4_glmm_more.json\n")
