# R's pairwise-complete pearson on a genesim TSV, every pair, single-threaded: the reference
# users trust, timed beside genesim (docs/measurements-missing-values.md).
# Rscript bench/r-cor.R FILE
args <- commandArgs(trailingOnly = TRUE)
t <- read.delim(args[1], check.names = FALSE, na.strings = "")
x <- as.matrix(t[, sapply(t, is.numeric)])
use <- if (anyNA(x)) "pairwise.complete.obs" else "everything"
for (i in 1:3) {
  s <- system.time(r <- cor(t(x), use = use))
  cat(sprintf("%s\t%d x %d\t%.1f %% missing\tuse=%s\trun %d\t%.2f s elapsed\t%.2f s user\n", args[1], nrow(x), ncol(x), 100 * mean(is.na(x)), use, i, s[["elapsed"]], s[["user.self"]]))
}
