# Reads a `mixmc sample` run with R's posterior package, as an R user would (read.csv skipping
# the '#' comment lines, one data frame per chain), and checks every column arrives with the
# values as written. Usage: Rscript scripts/check_posterior.R CHAINS_DIR
# (Debian: apt-get install r-cran-posterior)
suppressPackageStartupMessages(library(posterior))
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 1)
files <- sort(list.files(args[1], pattern = "^chain-[0-9]+\\.csv$", full.names = TRUE))
if (length(files) < 2) stop("expected at least two chain files in ", args[1])
chains <- lapply(seq_along(files), function(i) {
  d <- read.csv(files[i], comment.char = "#", check.names = FALSE)
  d$.chain <- i
  d$.iteration <- seq_len(nrow(d))
  d
})
header <- strsplit(grep("^[^#]", readLines(files[1]), value = TRUE)[1], ",")[[1]]
draws <- as_draws_df(do.call(rbind, chains))
missing <- setdiff(header, variables(draws))
if (length(missing) > 0) stop("columns lost by posterior: ", paste(missing, collapse = ", "))
# Values as written: compare the first and last rows of chain 1 with the file's own text.
rows <- grep("^[^#]", readLines(files[1]), value = TRUE)[-1]
first <- as.numeric(strsplit(rows[1], ",")[[1]])
last <- as.numeric(strsplit(rows[length(rows)], ",")[[1]])
chain1 <- subset_draws(draws, chain = 1)
got_first <- as.numeric(as.data.frame(chain1)[1, header])
got_last <- as.numeric(as.data.frame(chain1)[ndraws(chain1), header])
if (!identical(first, got_first) || !identical(last, got_last)) stop("values differ from the file")
summary <- summarise_draws(subset_draws(draws, variable = c("b_Intercept", "b_Days", "sigma")))
print(summary)
if (any(!is.finite(summary$rhat)) || any(!is.finite(summary$ess_bulk))) stop("posterior could not summarise the draws")
cat(sprintf("R posterior: %d chains, %d draws each, %d columns read\n", length(files), ndraws(chain1), length(header)))
