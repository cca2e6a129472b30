// Probabilistic forecasts of two of R's monthly series with a Bayesian LSTM (issue 16): Mauna Loa CO2
// (datasets::co2, 468 months) and the monthly sunspot number (datasets::sunspot.month, 3177 months),
// exported once by examples/data/export_r_datasets.R. Each series' last 24 months are held out; an
// LSTMForecaster trained by Bayes by Backprop (Fortunato et al. 2017) and one trained with MC dropout
// (Gal & Ghahramani 2016) forecast them as sample paths, and the example prints the RMSE of the mean
// forecast and the coverage of the 90% band on those months, and draws
//   co2_forecast.svg, sunspot_forecast.svg
// Usage: lstm_forecast [--full | --quick] [DATA_DIR]  (--full trains longer and draws more paths; --quick, CI's
// run, trains 5 and 2 epochs and draws 50 paths: every step in seconds, but not the example's results)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include <pml/io/csv.hpp>
#include <pml/io/svg.hpp>
#include <pml/models/deep/lstm_forecaster.hpp>

#ifndef PML_EXAMPLE_DATA
#define PML_EXAMPLE_DATA "examples/data"
#endif

namespace {
struct Series {
  const char* name;
  const char* file;
  const char* units;
  Eigen::VectorXd values;
  Eigen::VectorXd time;  // decimal years
};

Series load(const std::string& dir, const char* name, const char* file, const char* units) {
  const auto table = pml::io::read_csv<double>(dir + "/" + file);
  Series s{name, file, units, table.data.col(2), table.data.col(0) + (table.data.col(1).array() - 1).matrix() / 12.0};
  const Eigen::Index n = table.data.rows();
  std::printf("%s: %td months, %.0f-%02.0f to %.0f-%02.0f\n", file, n, table.data(0, 0), table.data(0, 1), table.data(n - 1, 0), table.data(n - 1, 1));
  return s;
}

struct Result {
  pml::ForecastBands<double> bands;
  double rmse, coverage, width, seconds;
};

Result run(const Series& s, pml::LSTMForecasterOptions options, const pml::FitOptions& fit, int paths, std::uint64_t seed) {
  const Eigen::Index horizon = 24, train = s.values.size() - horizon;
  pml::Rng rng(seed);
  pml::LSTMForecaster<double> model(options, rng);
  const auto t0 = std::chrono::steady_clock::now();
  model.fit(s.values.head(train), fit, rng);
  Result r{model.forecast(s.values.head(train), horizon, paths, rng, 0.9), 0, 0, 0, 0};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Eigen::VectorXd truth = s.values.tail(horizon);
  r.rmse = std::sqrt((r.bands.mean - truth).squaredNorm() / double(horizon));
  r.coverage = ((truth.array() >= r.bands.lower.array()) && (truth.array() <= r.bands.upper.array())).cast<double>().mean();
  r.width = (r.bands.upper - r.bands.lower).mean();
  return r;
}

// the RMSE over the last 24 values of two reference forecasts from the training part: the last value
// repeated, and the seasonal naive forecast (the value 12, or 24, months before)
void references(const Series& s) {
  const Eigen::Index horizon = 24, n = s.values.size(), train = n - horizon;
  double last = 0, seasonal = 0;
  for (Eigen::Index k = 0; k < horizon; ++k) {
    const double truth = s.values(train + k);
    last += std::pow(truth - s.values(train - 1), 2);
    seasonal += std::pow(truth - s.values(train + k - 12 * (k / 12 + 1)), 2);
  }
  std::printf("%-20s %-18s %8.3f\n%-20s %-18s %8.3f\n", s.file, "last value", std::sqrt(last / horizon), s.file, "seasonal naive", std::sqrt(seasonal / horizon));
}

void draw(const Series& s, const Result& bbb, const Result& mcd, Eigen::Index shown, const char* svg) {
  const Eigen::Index n = s.values.size(), horizon = 24;
  const Eigen::VectorXd t = s.time.tail(shown), y = s.values.tail(shown), tf = s.time.tail(horizon);
  double lo = y.minCoeff(), hi = y.maxCoeff();
  for (const Result* r : {&bbb, &mcd}) {
    lo = std::min(lo, r->bands.lower.minCoeff());
    hi = std::max(hi, r->bands.upper.maxCoeff());
  }
  const double pad = 0.05 * (hi - lo);
  pml::io::SvgPlot plot(t(0), s.time(n - 1) + 1.0 / 12, lo - pad, hi + pad, 760, 420);
  plot.title(std::string(s.name) + ": the last 24 months forecast, 90% bands");
  plot.band(tf, bbb.bands.lower, bbb.bands.upper, "#1f77b4", 0.25).legend("Bayes by Backprop LSTM, 90% band", "#a5c8e1");
  plot.band(tf, mcd.bands.lower, mcd.bands.upper, "#d62728", 0.2).legend("MC dropout LSTM, 90% band", "#f0a9a9");
  plot.line(tf, bbb.bands.mean, "#1f77b4", 2).line(tf, mcd.bands.mean, "#d62728", 2);
  plot.line(t, y, "#333333", 1.2).legend(std::string("observed ") + s.units, "#333333");
  plot.points(tf, s.values.tail(horizon), "black", 2.2, 0.9);
  plot.save(svg);
  std::printf("wrote %s\n", svg);
}
}  // namespace

int main(int argc, char** argv) {
  bool full = false, quick = false;
  std::string dir = PML_EXAMPLE_DATA;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      full = true;
    else if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else
      dir = argv[i];
  }
  if (full && quick) {
    std::fprintf(stderr, "lstm_forecast: --full and --quick exclude each other\n");
    return 2;
  }
  if (quick) std::printf("quick run (CI's): every step on little data; the numbers are not the example's results\n");
  const Series co2 = load(dir, "Mauna Loa CO2", "co2.csv", "(ppm)");
  const Series sun = load(dir, "Monthly sunspot number", "sunspot_month.csv", "(sunspot number)");
  const int paths = full ? 1000 : (quick ? 50 : 300);

  // CO2: the first difference (the trend becomes a level), two years of it per prediction
  pml::LSTMForecasterOptions co2_options;
  co2_options.window = 24;
  co2_options.hidden = 16;
  co2_options.differencing = 1;
  // (Bayes by Backprop's bands widen as its training goes on: with 419 windows the KL term keeps pulling
  // the weights' σ towards the prior's; 50 epochs of a 16-unit network: RMSE 0.45, band 3.7 ppm wide;
  // 150 epochs: 0.89 and 5.2; 32 units: 0.48 and 3.4, then 0.95 and 6.0; a N(0, 0.3²) prior no better)
  const pml::FitOptions co2_fit{.epochs = full ? 100 : (quick ? 5 : 50), .batch_size = 32, .learning_rate = 3e-3};
  // sunspots: the level itself (no trend), four years per prediction
  pml::LSTMForecasterOptions sun_options;
  sun_options.window = 48;
  sun_options.hidden = 32;
  sun_options.differencing = 0;
  const pml::FitOptions sun_fit{.epochs = full ? 60 : (quick ? 2 : 15), .batch_size = 64, .learning_rate = 3e-3};

  std::printf("\n%-20s %-18s %8s %12s %13s %8s\n", "series", "forecast", "RMSE", "band width", "90% coverage", "seconds");
  bool ok = true;
  for (const Series* s : {&co2, &sun}) {
    const bool is_co2 = s == &co2;
    references(*s);
    Result r[2];
    for (int m = 0; m < 2; ++m) {
      auto o = is_co2 ? co2_options : sun_options;
      o.method = m == 0 ? pml::ForecastMethod::bayes_by_backprop : pml::ForecastMethod::mc_dropout;
      r[m] = run(*s, o, is_co2 ? co2_fit : sun_fit, paths, 1);
      std::printf("%-20s %-18s %8.3f %12.3f %12.0f%% %8.1f\n", s->file, m == 0 ? "Bayes by Backprop" : "MC dropout", r[m].rmse, r[m].width, 100 * r[m].coverage,
                  r[m].seconds);
      ok = ok && std::isfinite(r[m].rmse);
    }
    draw(*s, r[0], r[1], is_co2 ? 120 : 240, is_co2 ? "co2_forecast.svg" : "sunspot_forecast.svg");
  }
  return ok ? 0 : 1;
}
