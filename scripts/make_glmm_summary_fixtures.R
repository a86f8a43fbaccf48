# lme4's printed summary() of GLMM fits with PIRLS converged (tolPwrss = 1e-13), the layout
# reference for mixmc's `fit` output (Tests/CLITests/GLMMSummaryLayoutTests.swift).
# Writes Tests/Fixtures/lme4_glmm_summaries/NAME.txt. Run from the repository root.
suppressMessages(library(lme4))
ctrl <- glmerControl(tolPwrss = 1e-13, optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-10, ftol_abs = 1e-12, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5))
read <- function(path) { d <- read.csv(path, stringsAsFactors = TRUE); for (n in names(d)) if (is.character(d[[n]])) d[[n]] <- factor(d[[n]]); d }
cbpp <- read("models/cbpp/data.csv")
grouse <- read("models/grouseticks/data.csv")
fits <- list(
  cbpp = glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, control = ctrl),
  cbpp_agq25 = glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, nAGQ = 25, control = ctrl),
  cbpp_probit = glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial("probit"), control = ctrl),
  grouseticks = glmer(TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), grouse, poisson, control = ctrl))
options(width = 80)
for (name in names(fits)) writeLines(capture.output(print(summary(fits[[name]]))), sprintf("Tests/Fixtures/lme4_glmm_summaries/%s.txt", name))
