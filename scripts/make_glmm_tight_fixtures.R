# lme4 fits with PIRLS converged (tolPwrss = 1e-13) and the optimizer run tight, for the GLMM
# tests: lme4's default PIRLS stops at a relative change of 1e-7, which moves its reported
# deviance up to 1e-3 and its Hessian-based SEs up to 1.3 % (cbpp) from the converged Laplace
# approximation that mixmc computes. Writes Tests/Fixtures/lme4_glmm_tight.json.
# Run from the repository root: Rscript scripts/make_glmm_tight_fixtures.R
suppressMessages({ library(lme4); library(jsonlite) })
ctrl <- glmerControl(tolPwrss = 1e-13, optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-10, ftol_abs = 1e-12, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5))
fx <- "Tests/Fixtures/data/"
# A binary model whose group variance is estimated as exactly 0 (a singular fit, θ on its bound).
singular <- paste0(fx, "sim_binomial_singular.csv")
if (!file.exists(singular)) {
  set.seed(1)
  g <- factor(rep(sprintf("g%02d", 1:15), each = 12)); x <- round(rnorm(180), 3)
  write.csv(data.frame(y = rbinom(180, 1, plogis(-0.4 + 0.8 * x)), x = x, g = g), singular, row.names = FALSE)
}
cases <- list(
  cbpp_logit = list(data = paste0(fx, "cbpp_labels.csv"), formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = binomial()),
  cbpp_probit = list(data = paste0(fx, "cbpp_labels.csv"), formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = binomial("probit")),
  cbpp_cloglog = list(data = paste0(fx, "cbpp_labels.csv"), formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = binomial("cloglog")),
  cbpp_proportion_weights = list(data = paste0(fx, "cbpp_labels.csv"), formula = "prop ~ period + (1 | herd)", family = binomial(), weights = "size"),
  cbpp_agq25 = list(data = paste0(fx, "cbpp_labels.csv"), formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = binomial(), nAGQ = 25),
  cbpp_agq5 = list(data = paste0(fx, "cbpp_labels.csv"), formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = binomial(), nAGQ = 5),
  binomial_slope = list(data = paste0(fx, "sim_binomial_slope.csv"), formula = "y ~ x + (1 + x | g)", family = binomial()),
  poisson_offset = list(data = paste0(fx, "sim_poisson_offset.csv"), formula = "y ~ x + offset(log_t) + (1 | g)", family = poisson()),
  poisson_offset_agq10 = list(data = paste0(fx, "sim_poisson_offset.csv"), formula = "y ~ x + offset(log_t) + (1 | g)", family = poisson(), nAGQ = 10),
  cbpp_probit_agq9 = list(data = paste0(fx, "cbpp_labels.csv"), formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = binomial("probit"), nAGQ = 9),
  grouseticks = list(data = paste0(fx, "grouseticks_labels.csv"), formula = "TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", family = poisson()),
  binomial_singular = list(data = singular, formula = "y ~ x + (1 | g)", family = binomial()),
  verbagg = list(data = "models/verbagg/data.csv", formula = "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", family = binomial())
)
out <- list(generated_by = "scripts/make_glmm_tight_fixtures.R", date_utc = format(Sys.time(), tz = "UTC", usetz = TRUE),
            R_version = R.version.string, lme4_version = as.character(packageVersion("lme4")),
            control = "glmerControl(tolPwrss = 1e-13, optimizer = 'nloptwrap', optCtrl = list(xtol_abs = 1e-10, ftol_abs = 1e-12, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5))",
            fits = list())
for (name in names(cases)) {
  case <- cases[[name]]
  d <- read.csv(case$data, stringsAsFactors = TRUE)
  for (col in names(d)) if (is.character(d[[col]])) d[[col]] <- factor(d[[col]])
  nagq <- if (is.null(case$nAGQ)) 1 else case$nAGQ
  args <- list(formula = as.formula(case$formula), data = d, family = case$family, nAGQ = nagq, control = ctrl)
  if (!is.null(case$weights)) args$weights <- d[[case$weights]]
  fit <- do.call(glmer, args)
  se <- sqrt(diag(as.matrix(vcov(fit))))
  se_rx <- suppressWarnings(sqrt(diag(as.matrix(vcov(fit, use.hessian = FALSE)))))
  out$fits[[name]] <- list(
    data = case$data, formula = case$formula, family = family(fit)$family, link = family(fit)$link, nAGQ = nagq,
    weights = case$weights, deviance = -2 * as.numeric(logLik(fit)),
    theta = as.list(getME(fit, "theta")),
    fixef = lapply(setNames(seq_along(fixef(fit)), names(fixef(fit))), function(i)
      list(estimate = unname(fixef(fit)[i]), std_error = unname(se[i]), std_error_RX = unname(se_rx[i]))))
  cat(name, format(-2 * as.numeric(logLik(fit)), digits = 15), "\n")
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "Tests/Fixtures/lme4_glmm_tight.json")
