# Exports two of R's monthly series as CSV for the forecasting example (issue 16):
#   co2.csv            Mauna Loa atmospheric CO2, ppm (datasets::co2, 1959-01..1997-12, 468 months)
#   sunspot_month.csv  monthly mean relative sunspot number (datasets::sunspot.month, 1749-01.., 3177 months)
# Columns: year, month (1-12), value. Run once from this directory (Debian r-base-core):
#   Rscript export_r_datasets.R
# The CSV files are committed; the script is kept so that they can be checked and remade.
export_monthly <- function(series, file) {
  t <- time(series)
  year <- floor(as.numeric(t) + 1e-9)
  month <- as.integer(cycle(series))
  frame <- data.frame(year = as.integer(year), month = month, value = as.numeric(series))
  write.csv(frame, file, row.names = FALSE, quote = FALSE)
  cat(sprintf("%s: %d months, %d-%02d to %d-%02d\n", file, nrow(frame), frame$year[1], frame$month[1],
              frame$year[nrow(frame)], frame$month[nrow(frame)]))
}
export_monthly(datasets::co2, "co2.csv")
export_monthly(datasets::sunspot.month, "sunspot_month.csv")
