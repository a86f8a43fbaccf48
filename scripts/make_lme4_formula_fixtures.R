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
data(Oats, package = "nlme")
write_data(as.data.frame(Oats)[, c("yield", "nitro", "Variety", "Block")], "Oats")
write_data(as.data.frame(CO2)[, c("uptake", "conc", "Type", "Treatment", "Plant")], "CO2")

# The CSV as mixmc reads it: `categorical` columns become factors, levels in R's sort() order.
read_back <- function(name, categorical) {
  frame <- read.csv(file.path("Tests/Fixtures/data", paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (column in categorical) frame[[column]] <- factor(frame[[column]])
  frame
}

# Item 2's options as R users set them: relevel() for a reference level, ordered() for
# polynomial contrasts, lmer(contrasts = ...) for the rest.
apply_options <- function(frame, options) {
  for (v in names(options$reference)) frame[[v]] <- relevel(frame[[v]], options$reference[[v]])
  for (v in options$ordered) frame[[v]] <- factor(frame[[v]], ordered = TRUE)
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
  case("Exam_nested3", "Exam", "normexam ~ standLRT + (1 | schgend/school/sex)", c("school", "schgend", "sex")),
  # Item 2: contrasts and reference levels, in fixed and random parts.
  case("Machines_sum", "Machines", "score ~ Machine + (1 | Worker)", c("Machine", "Worker"),
       options = list(contrasts = list(Machine = "contr.sum"))),
  case("Machines_helmert", "Machines", "score ~ Machine + (1 | Worker)", c("Machine", "Worker"),
       options = list(contrasts = list(Machine = "contr.helmert"))),
  case("Machines_reference", "Machines", "score ~ Machine + (1 | Worker)", c("Machine", "Worker"),
       options = list(reference = list(Machine = "C"))),
  case("Machines_sum_random", "Machines", "score ~ Machine + (Machine | Worker)", c("Machine", "Worker"),
       options = list(contrasts = list(Machine = "contr.sum"))),
  case("Oats_poly", "Oats", "yield ~ nitro + Variety + (1 | Block)", c("nitro", "Variety", "Block"),
       options = list(ordered = "nitro")),
  case("CO2_reference", "CO2", "uptake ~ Type * Treatment + log(conc) + (1 | Plant)", c("Type", "Treatment", "Plant"),
       options = list(reference = list(Type = "Mississippi", Treatment = "chilled"))),
  # Item 1: expressions in the response, fixed and random terms and offsets; `.` and %in%.
  case("sleepstudy_log_response", "sleepstudy", "log(Reaction) ~ Days + (Days | Subject)", "Subject"),
  case("sleepstudy_log_base", "sleepstudy", "log(Reaction, 2) ~ log10(Days + 1) + (1 | Subject)", "Subject"),
  case("sleepstudy_poly", "sleepstudy", "Reaction ~ poly(Days, 2) + (poly(Days, 2) | Subject)", "Subject"),
  case("sleepstudy_poly_raw", "sleepstudy", "Reaction ~ poly(Days, 3, raw = TRUE) + (1 | Subject)", "Subject"),
  case("sleepstudy_I", "sleepstudy", "Reaction ~ Days + I(Days^2) + (I(Days - 4.5) | Subject)", "Subject"),
  case("sleepstudy_scale", "sleepstudy", "Reaction ~ scale(Days) + (scale(Days) | Subject)", "Subject"),
  case("sleepstudy_scale_center", "sleepstudy", "sqrt(Reaction) ~ scale(Days, scale = FALSE) + (1 | Subject)", "Subject"),
  case("sleepstudy_factor", "sleepstudy", "Reaction ~ factor(Days) + (1 | Subject)", "Subject"),
  case("sleepstudy_functions1", "sleepstudy", "Reaction ~ sin(Days) + cos(Days) + abs(Days - 4) + (1 | Subject)", "Subject"),
  case("sleepstudy_functions2", "sleepstudy", "Reaction ~ tan(Days/10) + expm1(Days/10) + log2(Days + 2) + (1 | Subject)", "Subject"),
  case("sleepstudy_functions3", "sleepstudy", "Reaction ~ log1p(Days) + exp(-Days/5) + I(Days * pi) + (1 | Subject)", "Subject"),
  case("sleepstudy_offset", "sleepstudy", "Reaction ~ Days + offset(log(Days + 1)) + (1 | Subject)", "Subject"),
  case("Oats_dot", "Oats", "yield ~ . - Block + (1 | Block)", c("Variety", "Block")),
  case("Oats_in", "Oats", "yield ~ Variety + nitro %in% Variety + (1 | Block)", c("Variety", "Block")),
  # Item 4: summary layout with more than 12 fixed effects.
  case("CO2_many_fixed", "CO2", "uptake ~ factor(conc) * Type + (1 | Plant)", c("Type", "Plant")),
  case("sleepstudy_ML", "sleepstudy", "Reaction ~ Days + (Days | Subject)", "Subject", REML = FALSE),
  case("Dyestuff2_singular", "Dyestuff2", "Yield ~ 1 + (1 | Batch)", "Batch")
)

# nloptwrap's default stopping rule (xtol_abs 1e-8 and ftol_abs 1e-8 on the deviance... ) leaves
# fits on flat surfaces (Machines with sum contrasts in a 3 x 3 term) 1e-4 from the optimum in θ,
# so the references are fitted to tight tolerances; the printed summaries do not change.
tight <- lmerControl(optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, ftol_rel = 1e-15, maxeval = 1e5))

fits <- list()
for (c in cases) {
  frame <- read_back(c$data, c$categorical)
  frame <- apply_options(frame, c$options)
  if (!is.null(c$setup)) frame <- c$setup(frame)
  assign(c$data, frame)
  call <- substitute(lmer(F, data = D, REML = R, contrasts = C, control = tight),
                     list(F = as.formula(c$formula), D = as.name(c$data), R = c$REML, C = c$options$contrasts))
  fit <- eval(call)
  fits[[c$name]] <- describe(fit, c)
}
# R's contrast matrices and its sort() of awkward labels (ICU root collation).
labels <- c("a-b", "ab", "a b", "a_b", "a.b", "A", "a1", "a10", "a2", "\u00c4", "z", "Z", "\u00df", "ss", "st", "1a",
            "_1", "(x)", "x2", "_x", "x", ".x", "\u00e9", "e", "f", "a", "B", "b", "\u00e8", "E", "Mississippi", "Quebec")
# R's format() of numeric columns and abbreviate() of coefficient names, for the summary layout.
format_cases <- list(c(612.1, 35.07, 654.94), c(0.1234, 8.299e-05, 1.5), c(251.405, 10.467, 6.825, 1.546),
                     c(36.838, 6.771), c(1e-10, 1), c(-3.9536, -0.4634, 0.0231, 0.4634, 5.1793), c(123456789, 0.5),
                     c(0, 0.001234), c(99.99951, 1), c(2.5e-7, 3.1e-6), c(-0.000123, 45.6), c(1e5, 2e5), c(0.1, 0.25, 100))
formats <- lapply(format_cases, function(x) list(x = x, digits4 = format(x, digits = 4), round3 = format(round(x, 3), nsmall = 3)))
abbreviations <- c("(Intercept)", "MachineB", "MachineC", "TypeQuebec", "Treatmentnonchilled", "TypeQuebec:Treatmentnonchilled",
                   "factor(conc)175", "factor(conc)250", "factor(conc)1000", "log(conc)", "poly(Days, 2)1", "poly(Days, 2)2",
                   "scale(Days)", "Days", "I(Days^2)", "VarietyMarvellous", "VarietyVictory", "nitro.L", "sexM:standLRT")
contrast_matrix <- function(m) lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))
out <- list(generated_by = paste("lme4", packageVersion("lme4"), "on", R.version.string,
                                 "collation", icuGetCollate()), fits = unname(fits),
            level_order = list(labels = labels, sorted = sort(labels)),
            formats = formats,
            abbreviate = list(names = abbreviations, minlength6 = unname(abbreviate(abbreviations, 6)),
                              minlength11 = unname(abbreviate(abbreviations, 11))),
            contrast_matrices = list(poly6 = list(names = colnames(contr.poly(6)), rows = contrast_matrix(contr.poly(6))),
                                     poly3 = list(names = colnames(contr.poly(3)), rows = contrast_matrix(contr.poly(3))),
                                     helmert4 = list(rows = contrast_matrix(contr.helmert(4))),
                                     sum4 = list(rows = contrast_matrix(contr.sum(4)))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "Tests/Fixtures/lme4_formulas.json")
