# Long Stan (rstan) posterior runs for the GLMM samplers' agreement tests (issue 13), and the
# standard 4 x (1000 + 1000) Stan timing runs its benchmarks compare against. Writes
# Tests/Fixtures/stan_glmm_references.json. Run from the repository root:
#   nice -n 15 Rscript scripts/make_stan_glmm_references.R              # every posterior and benchmark
#   nice -n 15 Rscript scripts/make_stan_glmm_references.R cbpp_logit   # only the named ones
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-jsonlite r-cran-rstan; posterior from CRAN.)
# Names given on the command line are posterior keys (references) or "bench:<key>" / "bench:all"
# (timing runs); "refs" means every reference. A run with names replaces only those entries of an
# existing fixture and keeps the rest.
#
# Posteriors (data from models/<name>/data.csv, X from lme4's glFormula, so its columns and their
# names are lme4's fixef):
#   cbpp_logit          cbind(incidence, size - incidence) ~ period + (1 | herd), binomial logit
#   cbpp_probit         the same, binomial probit: incidence ~ binomial(size, Phi(eta))
#   verbagg_logit       r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), Bernoulli logit
#                       (r2 is N/Y; N, the first level, is failure as in R's glm)
#   verbagg_probit      the same, probit
#   grouseticks_poisson TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), Poisson log
# One Stan program serves all five: beta ~ Normal(0, 10) (intercept included), every random-effect
# SD tau_g ~ half-Cauchy(0, 5), non-centred b_g = tau_g * z_g with z_g ~ Normal(0, 1).
# Summaries (mean, sd, mcse_mean, ess_bulk, ess_tail, rhat) are the posterior package's
# summarise_draws over all post-warmup draws of all chains.
#
# Everything runs on one core: chains one after another (cores = 1). Seeded; a rerun on the same
# machine and rstan build reproduces the draws, but not the seconds. Compile time (about a minute)
# is excluded from every figure. Stan 2.21 times warmup and sampling with clock(), so its seconds are
# CPU seconds; the wall time of each sampling() call is recorded beside them. The references took
# 70 minutes and the benchmarks 45 (wall) on 2 cores with a Swift build on the other one (load
# average 3 to 8); 45 minutes of CPU for the references and 35 for the benchmarks.
suppressPackageStartupMessages({ library(lme4); library(rstan); library(posterior); library(jsonlite) })
rstan_options(auto_write = FALSE)
# Debian's r-cran-bh ships no include/ directory (its headers are libboost-dev's): point rstan there.
if (!file.exists(rstan_options("boost_lib")) && dir.exists("/usr/include/boost")) rstan_options(boost_lib = "/usr/include")
options(mc.cores = 1)

out_file <- "Tests/Fixtures/stan_glmm_references.json"

## ---- Stan program --------------------------------------------------------------------------

stan_code <- "
data {
  int<lower=1> N;                        // rows
  int<lower=1> K;                        // fixed-effect columns
  matrix[N, K] X;                        // lme4's fixed-effects model matrix
  int<lower=1, upper=3> family_link;     // 1 binomial logit, 2 binomial probit, 3 Poisson log
  int<lower=0> y[N];                     // successes (binomial) or counts (Poisson)
  int<lower=0> trials[N];                // binomial trials (1 for Bernoulli; unused for Poisson)
  int<lower=1> G;                        // grouping factors, each with a random intercept
  int<lower=1> L[G];                     // levels per grouping factor
  int<lower=1> J[G, N];                  // J[g, i]: level of factor g on row i (1..L[g])
}
parameters {
  vector[K] beta;
  vector<lower=0>[G] tau;                // random-effect SDs
  vector[sum(L)] z;                      // standardised random effects, factor after factor
}
model {
  vector[N] eta = X * beta;
  int pos = 1;
  for (g in 1:G) {
    vector[L[g]] b = tau[g] * segment(z, pos, L[g]);
    eta += b[J[g]];
    pos += L[g];
  }
  beta ~ normal(0, 10);
  tau ~ cauchy(0, 5);
  z ~ std_normal();
  if (family_link == 1) {
    y ~ binomial_logit(trials, eta);
  } else if (family_link == 2) {
    y ~ binomial(trials, Phi(eta));
  } else {
    y ~ poisson_log(eta);
  }
}
"
priors_text <- paste("beta_k ~ Normal(0, 10) for every fixed-effect column, (Intercept) included;",
                     "every random-effect SD ~ half-Cauchy(0, 5) (Cauchy(0, 5) restricted to SD > 0);",
                     "non-centred: b_g = SD_g * z_g, z_g ~ Normal(0, 1)")

## ---- posteriors ----------------------------------------------------------------------------

posteriors <- list(
  cbpp_logit = list(data = "models/cbpp/data.csv", family = "binomial", link = "logit",
                    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                    chains = 4L, warmup = 1000L, draws = 4000L, adapt_delta = 0.8, seed = 13001L),
  cbpp_probit = list(data = "models/cbpp/data.csv", family = "binomial", link = "probit",
                     formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                     chains = 4L, warmup = 1000L, draws = 4000L, adapt_delta = 0.8, seed = 13002L),
  verbagg_logit = list(data = "models/verbagg/data.csv", family = "binomial", link = "logit",
                       formula = "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
                       chains = 4L, warmup = 1000L, draws = 2000L, adapt_delta = 0.8, seed = 13003L),
  verbagg_probit = list(data = "models/verbagg/data.csv", family = "binomial", link = "probit",
                        formula = "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
                        chains = 4L, warmup = 1000L, draws = 2000L, adapt_delta = 0.8, seed = 13004L,
                        init_r = 0.1),
  grouseticks_poisson = list(data = "models/grouseticks/data.csv", family = "poisson", link = "log",
                             formula = "TICKS ~ YEAR + HEIGHT_s + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
                             chains = 4L, warmup = 1000L, draws = 4000L, adapt_delta = 0.99, seed = 13005L)
)

# VerbAgg probit starts within init_r = 0.1 of zero: from rstan's default (-2, 2) the Anger
# coefficient (Anger runs 11 to 39) puts eta at +-40, where Phi is exactly 0 or 1 in double precision,
# and a trial chain stuck there (step size 7e-5, every transition divergent, R-hat 2.1).
# Run lengths: VerbAgg (minutes per chain) is kept to 4 x (1000 + 2000) so that references and
# benchmarks together take about 80 minutes on one idle core; the rest run 4 x (1000 + 4000).

# Timing runs: 4 x (1000 + 1000), default adapt_delta (and 0.99 for grouseticks).
benchmarks <- list(
  cbpp_logit = list(posterior = "cbpp_logit", adapt_delta = 0.8, seed = 23001L),
  cbpp_probit = list(posterior = "cbpp_probit", adapt_delta = 0.8, seed = 23002L),
  grouseticks_poisson = list(posterior = "grouseticks_poisson", adapt_delta = 0.8, seed = 23005L),
  grouseticks_poisson_adapt_delta_0.99 = list(posterior = "grouseticks_poisson", adapt_delta = 0.99, seed = 23006L),
  verbagg_logit = list(posterior = "verbagg_logit", adapt_delta = 0.8, seed = 23003L),
  verbagg_probit = list(posterior = "verbagg_probit", adapt_delta = 0.8, seed = 23004L)
)

## ---- data for Stan -------------------------------------------------------------------------

stan_data <- function(p) {
  frame <- read.csv(p$data, stringsAsFactors = TRUE)
  fam <- if (p$family == "poisson") poisson() else binomial(p$link)
  gf <- glFormula(as.formula(p$formula), data = frame, family = fam)
  X <- gf$X
  stopifnot(identical(colnames(X), colnames(model.matrix(nobars(as.formula(p$formula))[-2], frame))))
  flist <- gf$reTrms$flist
  stopifnot(all(vapply(gf$reTrms$cnms, function(c) identical(c, "(Intercept)"), TRUE)))
  if (p$family == "poisson") {
    y <- frame$TICKS; trials <- rep(1L, nrow(frame))
  } else if (grepl("^cbind", p$formula)) {
    y <- frame$incidence; trials <- frame$size
  } else {
    stopifnot(identical(levels(frame$r2), c("N", "Y")), all(frame$r2_y == (frame$r2 == "Y")))
    y <- as.integer(frame$r2 == "Y"); trials <- rep(1L, nrow(frame))
  }
  J <- t(vapply(flist, as.integer, integer(nrow(frame))))
  list(stan = list(N = nrow(X), K = ncol(X), X = unname(X), y = as.integer(y), trials = as.integer(trials),
                   family_link = c(logit = 1L, probit = 2L, log = 3L)[[p$link]],
                   G = length(flist), L = array(unname(vapply(flist, nlevels, 1L)), dim = length(flist)),
                   J = array(J, dim = dim(J))),
       fixed_names = colnames(X), group_names = names(flist), levels = vapply(flist, nlevels, 1L))
}

## ---- running and summarising ---------------------------------------------------------------

loadavg <- function() as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3])

run_stan <- function(model, d, chains, warmup, draws, adapt_delta, seed, init_r = 2) {
  load_before <- loadavg()
  cpu_before <- proc.time()
  fit <- sampling(model, data = d$stan, chains = chains, cores = 1, iter = warmup + draws, warmup = warmup,
                  seed = seed, init_r = init_r, control = list(adapt_delta = adapt_delta), pars = c("beta", "tau"),
                  refresh = max(1L, (warmup + draws) %/% 5L))
  cpu <- proc.time() - cpu_before
  elapsed <- get_elapsed_time(fit)
  arr <- as.array(fit)[, , c(paste0("beta[", seq_len(d$stan$K), "]"), paste0("tau[", seq_len(d$stan$G), "]")), drop = FALSE]
  dimnames(arr)[[3]] <- c(d$fixed_names, paste0("sd_", d$group_names))
  summ <- summarise_draws(as_draws_array(arr), "mean", "sd", "mcse_mean", "ess_bulk", "ess_tail", "rhat")
  sp <- get_sampler_params(fit, inc_warmup = FALSE)
  list(fit = fit, summary = as.data.frame(summ), elapsed = elapsed,
       divergences_per_chain = vapply(sp, function(s) as.integer(sum(s[, "divergent__"])), 1L),
       treedepth_hits = as.integer(sum(vapply(sp, function(s) sum(s[, "treedepth__"] >= 10), 1))),
       mean_leapfrog = mean(unlist(lapply(sp, function(s) s[, "n_leapfrog__"]))),
       step_size = vapply(sp, function(s) s[1, "stepsize__"], 1),
       cpu_seconds = unname(cpu[["user.self"]] + cpu[["sys.self"]]), wall_seconds = unname(cpu[["elapsed"]]),
       load = rbind(before = load_before, after = loadavg()))
}

stats_of <- function(summ, name) {
  r <- summ[summ$variable == name, ]
  list(mean = r$mean, sd = r$sd, mcse_mean = r$mcse_mean, ess_bulk = r$ess_bulk, ess_tail = r$ess_tail, rhat = r$rhat)
}

init_r_of <- function(p) if (is.null(p$init_r)) 2 else p$init_r
settings_of <- function(chains, warmup, draws, adapt_delta, seed, init_r)
  list(chains = chains, warmup = warmup, draws = draws, adapt_delta = adapt_delta, max_treedepth = 10L,
       seed = seed, init_r = init_r, init = if (init_r == 2) "rstan default: uniform(-2, 2) on the unconstrained scale"
         else sprintf("uniform(-%g, %g) on the unconstrained scale (init_r = %g; see the script)", init_r, init_r, init_r),
       cores = 1L, rstan = as.character(packageVersion("rstan")),
       stan = as.character(rstan::stan_version()), posterior = as.character(packageVersion("posterior")),
       lme4 = as.character(packageVersion("lme4")), R = paste(R.version$major, R.version$minor, sep = "."))

reference <- function(model, key) {
  p <- posteriors[[key]]
  d <- stan_data(p)
  message(sprintf("reference %s: %d x (%d + %d), adapt_delta %g", key, p$chains, p$warmup, p$draws, p$adapt_delta))
  r <- run_stan(model, d, p$chains, p$warmup, p$draws, p$adapt_delta, p$seed, init_r_of(p))
  s <- r$summary
  print(as.data.frame(lapply(s, identity)), digits = 6)
  fixed <- setNames(lapply(d$fixed_names, function(n) stats_of(s, n)), d$fixed_names)
  sds <- setNames(lapply(d$group_names, function(g) stats_of(s, paste0("sd_", g))), d$group_names)
  list(formula = p$formula, family = p$family, link = p$link, data = p$data,
       rows = d$stan$N, levels = as.list(d$levels), priors = priors_text,
       stan = settings_of(p$chains, p$warmup, p$draws, p$adapt_delta, p$seed, init_r_of(p)),
       divergences = sum(r$divergences_per_chain), divergences_per_chain = r$divergences_per_chain,
       max_treedepth_hits = r$treedepth_hits, mean_leapfrog_steps = r$mean_leapfrog,
       seconds_warmup_sampling = sum(r$elapsed), max_rhat = max(s$rhat),
       fixed = fixed, sd = sds)
}

benchmark <- function(model, key) {
  b <- benchmarks[[key]]
  p <- posteriors[[b$posterior]]
  d <- stan_data(p)
  message(sprintf("benchmark %s: 4 x (1000 + 1000), adapt_delta %g", key, b$adapt_delta))
  r <- run_stan(model, d, 4L, 1000L, 1000L, b$adapt_delta, b$seed, init_r_of(p))
  s <- r$summary
  print(as.data.frame(lapply(s, identity)), digits = 6)
  secs <- sum(r$elapsed)
  list(posterior = b$posterior, stan = settings_of(4L, 1000L, 1000L, b$adapt_delta, b$seed, init_r_of(p)),
       seconds_warmup = sum(r$elapsed[, "warmup"]), seconds_sampling = sum(r$elapsed[, "sample"]),
       seconds = secs, min_ess_bulk = min(s$ess_bulk), min_ess_bulk_parameter = s$variable[which.min(s$ess_bulk)],
       ess_per_second = min(s$ess_bulk) / secs,
       cpu_seconds = r$cpu_seconds, ess_per_cpu_second = min(s$ess_bulk) / r$cpu_seconds,
       wall_seconds_sampling_call = r$wall_seconds,
       divergences = sum(r$divergences_per_chain),
       divergences_per_chain = r$divergences_per_chain, max_treedepth_hits = r$treedepth_hits,
       max_rhat = max(s$rhat), mean_leapfrog_steps = r$mean_leapfrog,
       load_average_before_after = list(before = r$load["before", ], after = r$load["after", ]))
}

## ---- JSON with every double written to round-trip ------------------------------------------

shortest <- function(x) {
  if (!is.finite(x)) stop("non-finite number in fixture")
  for (dg in 15:17) { s <- sprintf("%.*g", dg, x); if (as.numeric(s) == x) break }
  s
}
verbatim <- function(x) {
  if (is.list(x)) return(lapply(x, verbatim))
  if (is.double(x)) {
    v <- vapply(x, shortest, "")
    return(structure(if (length(x) == 1) v else paste0("[", paste(v, collapse = ","), "]"), class = "json"))
  }
  x
}

## ---- main ----------------------------------------------------------------------------------

args <- commandArgs(trailingOnly = TRUE)
if (length(args) == 0) args <- c("refs", "bench:all")
ref_keys <- unique(unlist(lapply(args, function(a) if (a == "refs") names(posteriors) else if (a %in% names(posteriors)) a)))
bench_keys <- unique(unlist(lapply(args, function(a) if (a == "bench:all") names(benchmarks) else
  if (startsWith(a, "bench:")) sub("^bench:", "", a))))
stopifnot(all(bench_keys %in% names(benchmarks)), length(ref_keys) + length(bench_keys) > 0)

out <- if (file.exists(out_file)) fromJSON(out_file, simplifyVector = FALSE) else list()
keep_order <- function(lst, order) lst[c(intersect(order, names(lst)), setdiff(names(lst), order))]

t0 <- Sys.time()
message("compiling the Stan program (not timed in any figure)")
model <- stan_model(model_code = stan_code, model_name = "mixmc_glmm")
write_out <- function() {
  out$about <<- paste("Stan posterior references and timing runs for mixmc's GLMM samplers (issue 13), written by",
                      "scripts/make_stan_glmm_references.R. Per posterior: `fixed` maps lme4's fixef names and `sd`",
                      "maps grouping-factor names (SD of the random intercept) to posterior's summarise_draws",
                      "statistics over all post-warmup draws. `benchmark`: 4 x (1000 + 1000) runs, one core, chains",
                      "one after another, compile excluded; seconds = warmup + sampling summed over chains",
                      "(get_elapsed_time, which Stan 2.21 measures with clock(): CPU time of the process, not",
                      "wall time); ess_per_second = min bulk ESS over beta and SDs / seconds. cpu_seconds: this R",
                      "process's user + system CPU time over the whole sampling() call (adds rstan's setup);",
                      "wall_seconds_sampling_call: the wall time of that call, larger when the machine is busy;",
                      "load_average_before_after: /proc/loadavg (2 cores).",
                      "Divergences are post-warmup.")
  out$stan_program <<- stan_code
  out$generated <<- format(Sys.time(), "%Y-%m-%d")
  out <<- keep_order(out, c("about", "generated", "stan_program", names(posteriors), "benchmark"))
  if (!is.null(out$benchmark)) out$benchmark <<- keep_order(out$benchmark, names(benchmarks))
  writeLines(toJSON(verbatim(out), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE, null = "null"), out_file)
}
for (k in ref_keys) { out[[k]] <- reference(model, k); write_out() }
for (k in bench_keys) { out$benchmark[[k]] <- benchmark(model, k); write_out() }
message(sprintf("done in %.1f minutes", as.numeric(difftime(Sys.time(), t0, units = "mins"))))
