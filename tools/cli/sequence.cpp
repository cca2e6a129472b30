// pml hmm: hidden Markov models on CSV rows (issue 19 §2-3).
#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include <pml/models/sequence/hidden_markov_model.hpp>

#include "common.hpp"

namespace pml::cli {
namespace {

using HMM = HiddenMarkovModel<double>;

/// "100,250,80" -> {100, 250, 80}; "" -> {} (one sequence: every row).
std::vector<Eigen::Index> parse_lengths(const std::string& text) {
  std::vector<Eigen::Index> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    Eigen::Index v = 0;
    const auto [stop, error] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || error != std::errc{} || stop != item.data() + item.size() || v < 1)
      throw UsageError("--lengths needs positive integers separated by commas, got '" + text + "'");
    out.push_back(v);
    start = end + 1;
  }
  return out;
}

const char* kLengthsHelp = "the rows of each sequence, in order, e.g. 300,120,580 (default: all rows are one sequence)";

}  // namespace

void add_sequence_commands(Tool& tool) {
  Family& hmm = tool.family("hmm", "hidden Markov models: Baum-Welch, Viterbi, forward-backward (PRML 13.2)");
  {
    Command& c = hmm.command("fit", "fit a hidden Markov model by Baum-Welch and save it",
                             "Fits a hidden Markov model to the rows of DATA.csv, one observation per row (categorical: one column of "
                             "symbols 0, 1, ...), with --lengths splitting the rows into sequences. Each restart starts from k-means "
                             "means (Gaussian; for a mixture, k-means within each state's rows) or random emission probabilities "
                             "(categorical); the run of highest log-likelihood is kept.",
                             "pml hmm fit returns.csv --states 2 --emission gaussian_diagonal --restarts 5 -o hmm.pml");
    const auto data = c.input("DATA.csv", "the observations, one row per time step");
    const auto model = c.model_output();
    const auto states = c.integer<Eigen::Index>("--states", "K", "hidden states", 2, 1, 100000);
    const auto emission = c.choice<HMMEmission>("--emission", "E", "the states' emission distribution", HMMEmission::gaussian_full);
    const auto mixture = c.integer<Eigen::Index>("--mixture-components", "M",
                                                 "Gaussian components per state (with --emission gaussian_mixture_full or gaussian_mixture_diagonal)", 1, 1, 100000);
    const auto symbols = c.integer<Eigen::Index>("--symbols", "S", "categorical: the number of symbols (0: one more than the largest in the data)", 0, 0,
                                                 1000000000);
    const auto tolerance = c.real("--tolerance", "TOL", "stop when the log-likelihood per observation rises by less than this", 1e-4, kNonNegative);
    const auto reg_covar = c.real("--reg-covar", "V", "added to every variance, in the data's units squared", 1e-6, kNonNegative);
    const auto lengths = c.text("--lengths", "L1,L2,...", kLengthsHelp, "");
    const auto restarts = c.integer<int>("--restarts", "R", "independent Baum-Welch runs", 1, 1, 100000);
    const auto iterations = c.integer<int>("--max-iterations", "N", "Baum-Welch iterations per run", 100, 1, 100000000);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.action([=] {
      const Eigen::MatrixXd x = read_data(*data, *csv);
      HMM m({.states = *states,
             .emission = *emission,
             .symbols = *symbols,
             .mixture_components = *mixture,
             .restarts = *restarts,
             .max_iterations = *iterations,
             .tolerance = *tolerance,
             .reg_covar = *reg_covar});
      Rng rng(*seed);
      m.fit(x, parse_lengths(*lengths), rng);
      m.save(*model);
      std::fprintf(stderr, "fitted a %ld-state hidden Markov model to %ld rows: log-likelihood %.10g after %d iterations%s; saved %s\n",
                   long(*states), long(x.rows()), m.log_likelihood(), m.iterations(), m.converged() ? "" : " (not converged)", model->c_str());
    });
  }
  {
    Command& c = hmm.command("decode", "the most probable hidden state of each row (Viterbi), or their posteriors",
                             "Writes the Viterbi path (column state) of the sequences in DATA.csv, or with --proba the posterior probability "
                             "of each state at each row (columns p0, p1, ...).",
                             "pml hmm decode hmm.pml returns.csv > states.csv");
    const auto model = c.input("MODEL", "a model saved by pml hmm fit");
    const auto data = c.input("DATA.csv", "the observations");
    const auto lengths = c.text("--lengths", "L1,L2,...", kLengthsHelp, "");
    const auto proba = c.flag("--proba", "the posterior probabilities of the states instead of the Viterbi path");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const HMM m = HMM::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv);
      if (*proba) {
        emit(*out, m.predict_proba(x, parse_lengths(*lengths)), names("p", m.options().states));
      } else {
        emit(*out, m.predict(x, parse_lengths(*lengths)).cast<double>(), {"state"});
      }
    });
  }
  {
    Command& c = hmm.command("score", "the log-likelihood of each sequence",
                             "Writes log p(x) of each sequence of DATA.csv under the model (forward algorithm), one row per sequence.",
                             "pml hmm score hmm.pml returns.csv --lengths 500,500");
    const auto model = c.input("MODEL", "a model saved by pml hmm fit");
    const auto data = c.input("DATA.csv", "the observations");
    const auto lengths = c.text("--lengths", "L1,L2,...", kLengthsHelp, "");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const HMM m = HMM::load(*model);
      emit(*out, m.log_likelihoods(read_data(*data, *csv), parse_lengths(*lengths)), {"log_likelihood"});
    });
  }
  {
    Command& c = hmm.command("sample", "a sequence drawn from the model, with its hidden states",
                             "Draws one sequence of N steps: the observation columns (x0, x1, ...) and the hidden state.",
                             "pml hmm sample hmm.pml -n 1000 --seed 1 -o sequence.csv");
    const auto model = c.input("MODEL", "a model saved by pml hmm fit");
    const auto n = c.count("-n", "N", "how many steps");
    const auto seed = c.seed();
    const auto out = c.csv_output();
    c.action([=] {
      const HMM m = HMM::load(*model);
      Rng rng(*seed);
      const Eigen::Index steps = row_count(*n, "-n", m.options().emission == HMMEmission::categorical ? 2 : m.means().cols() + 1);
      const auto [x, z] = m.sample(rng, steps);
      Eigen::MatrixXd table(x.rows(), x.cols() + 1);
      table << x, z.cast<double>();
      auto columns = names("x", x.cols());
      columns.push_back("state");
      emit(*out, table, columns);
    });
  }
}

}  // namespace pml::cli
