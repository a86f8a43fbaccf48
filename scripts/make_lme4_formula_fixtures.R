# lme4's fits of formulas written as lme4 users write them (issue 11: expressions, contrasts,
# labels, summary layout, the Machines optimum), on data sets from R packages written to
# Tests/Fixtures/data/NAME.csv. Each fit is made on the CSV as mixmc reads it (read back with
# read.csv, the categorical columns made factors with R's default level order), and written to
# Tests/Fixtures/lme4_formulas.json with its printed summary. Run from the repository root:
#   Rscript scripts/make_lme4_formula_fixtures.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-jsonlite r-cran-mlmrev)
# R sorts factor levels with ICU's root collation here (capabilities("ICU"), icuGetCollate()),
# the order of R's default en_US.UTF-8 locale.
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })

dir.create("Tests/Fixtures/data", showWarnings = FALSE, recursive = TRUE)
write_data <- function(frame, name) write.csv(frame, file.path("Tests/Fixtures/data", paste0(name, ".csv")), row.names = FALSE)
data(Machines, package = "nlme")
write_data(as.data.frame(Machines)[, c("score", "Machine", "Worker")], "Machines")
data(Exam, package = "mlmRev")
write_data(Exam[, c("normexam", "standLRT", "school", "schgend", "sex")], "Exam")

# The CSV as mixmc reads it: `categorical` columns become factors, levels in R's sort() order.
read_back <- function(name, categorical) {
  frame <- read.csv(file.path("Tests/Fixtures/data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (column in categorical) frame[[column]] <- factor(frame[[column]])
  frame
}

describe <- function(fit, case) {
  fe <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  theta <- getME(fit, "theta")
  list(
    name = case$name, data = case$data, formula = case$formula, REML = case$REML,
    categorical = case$categorical, options = case$options,
    objective = if (case$REML) unname(REMLcrit(fit)) else unname(deviance(fit)),
    theta = lapply(seq_along(theta), function(i) list(name = names(theta)[i], value = unname(theta[i]))),
    sigma = sigma(fit),
    fixef = lapply(seq_len(nrow(fe)), function(i) list(name = rownames(fe)[i], estimate = fe[i, 1], std_error = fe[i, 2])),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], var1 = ifelse(is.na(vc$var1[i]), "", vc$var1[i]),
                                                         var2 = ifelse(is.na(vc$var2[i]), "", vc$var2[i]), sdcor = vc$sdcor[i])),
    ngrps = lapply(seq_along(ngrps(fit)), function(i) list(name = names(ngrps(fit))[i], levels = unname(ngrps(fit)[i]))),
    nobs = nobs(fit),
    singular = isSingular(fit),
    summary = capture.output(print(summary(fit)))
  )
}

case <- function(name, data, formula, categorical = character(0), REML = TRUE, options = NULL, setup = NULL)
  list(name = name, data = data, formula = formula, categorical = categorical, REML = REML, options = options, setup = setup)

cases <- list(
  # Item 5: lme4 reaches 208.3112 here (bobyqa, Nelder_Mead, nlminb); the intercept term and the
  # full 3 x 3 term on one factor leave a ridge, so θ is not identified, the objective and β are.
  case("Machines_uncorr", "Machines", "score ~ Machine + (Machine || Worker)", c("Machine", "Worker")),
  # Item 3: several terms on one grouping factor, deeper nesting.
  case("sleepstudy_two_terms", "sleepstudy", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "Subject"),
  case("sleepstudy_uncorr", "sleepstudy", "Reaction ~ Days + (Days || Subject)", "Subject"),
  case("Exam_nested3", "Exam", "normexam ~ standLRT + (1 | schgend/school/sex)", c("school", "schgend", "sex"))
)

fits <- list()
for (c in cases) {
  frame <- read_back(c$data, c$categorical)
  if (!is.null(c$setup)) frame <- c$setup(frame)
  assign(c$data, frame)
  call <- substitute(lmer(F, data = D, REML = R), list(F = as.formula(c$formula), D = as.name(c$data), R = c$REML))
  fit <- eval(call)
  fits[[c$name]] <- describe(fit, c)
}
out <- list(generated_by = paste("lme4", packageVersion("lme4"), "on", R.version.string,
                                 "collation", icuGetCollate()), fits = unname(fits))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "Tests/Fixtures/lme4_formulas.json")
