#pragma once
// The pml tool's command declarations and the helpers the model families share.
//
// A command is declared once, in its family's file (cluster.cpp, latent.cpp, linear.cpp, deep.cpp): its
// arguments and options with their names, defaults, help and checks, its example, and the action that runs
// once the command line is read. The parser (CLI11, in common.cpp only) and the help are made from the
// declarations, so an option's name, default and help are written in one place:
//
//   Command& c = family.command("fit", "fit a mixture by EM and save it", "Fits ...", "pml gmm fit data.csv -o model.pml");
//   const auto data = c.input("DATA.csv", "the data, one sample per row");
//   const auto k = c.integer<Eigen::Index>("--components", "K", "number of components", 1, 1);
//   const auto model = c.model_output();
//   c.action([=] { ... *k ... *model ... });
//
// Errors: a UsageError is a command-line mistake (exit 2, "(see pml gmm fit --help)" appended); any
// other exception is a failed operation (exit 1). Either is one line on standard error.
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <pml/core/collective.hpp>
#include <pml/core/enum_names.hpp>
#include <pml/io/csv.hpp>

namespace pml::cli {

/// A command-line mistake: reported with the command's name and exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A value the command line sets, read by the command's action (`*arg`, `arg->field`). Copies share the value.
template <class T> class Arg {
 public:
  explicit Arg(std::shared_ptr<T> value) : value_(std::move(value)) {}
  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_.get(); }

 private:
  std::shared_ptr<T> value_;
};

/// The range of a number option: (low or [low, high), in words for the help and the errors.
struct Interval {
  double low, high;
  bool open_low;
  const char* words;
};
inline constexpr Interval kPositive{0.0, std::numeric_limits<double>::infinity(), true, "positive"};
inline constexpr Interval kProbability{0.0, 1.0, false, "in [0, 1)"};
inline constexpr Interval kUnitInterval{0.0, 1.0000000000000002, false, "in [0, 1]"};  // high: the double after 1
inline constexpr Interval kNonNegative{0.0, std::numeric_limits<double>::infinity(), false, "non-negative"};

/// One argument or option of a command, as the parser and the help see it.
struct Declaration {
  enum class Kind { positional, option, flag };
  Kind kind = Kind::option;
  std::string name;          ///< "--components", "-o"; a positional's placeholder ("DATA.csv")
  std::string metavar;       ///< the value's placeholder in the help ("K"); empty for flags and positionals
  std::string help;          ///< one phrase; the default is appended
  std::string default_text;  ///< shown as "(default X)"; empty: none shown
  std::string group;         ///< the help section ("" for the command's own options)
  bool required = false;     ///< an option the command cannot run without (-o MODEL, -n N)
  bool input = false;        ///< names a file the command reads: -o may not name the same file
  /// Stores the value given on the command line (flags: called with ""); throws UsageError with a phrase
  /// such as "must be positive, got 0", which the command prefixes with "option NAME ".
  std::function<void(const std::string&)> set;
};

/// Parses an integer of type Int in [minimum, maximum]: text beyond Int's range is refused, never wrapped or clamped.
template <std::integral Int> Int parse_integer(const std::string& text, Int minimum, Int maximum) {
  const char* first = text.data();
  const char* const last = first + text.size();
  if (last - first > 1 && *first == '+' && first[1] >= '0' && first[1] <= '9') ++first;
  Int v{};
  const auto [end, error] = std::from_chars(first, last, v);
  if (error == std::errc::result_out_of_range && end == last) {
    if (text[0] == '-') throw UsageError("must be at least " + std::to_string(minimum) + ", got " + text);
    throw UsageError("must be at most " + std::to_string(maximum) + ", got " + text);
  }
  if (first == last || error != std::errc{} || end != last) throw UsageError("needs an integer, got '" + text + "'");
  if (v > maximum) throw UsageError("must be at most " + std::to_string(maximum) + ", got " + text);
  if (v < minimum) throw UsageError("must be at least " + std::to_string(minimum) + ", got " + text);
  return v;
}
/// Parses a finite number in `range`.
double parse_real(const std::string& text, const Interval& range);

/// One command (`pml gmm fit`): its declarations, in the order the help lists them, and its action.
class Command {
 public:
  Command(std::string path, std::string summary, std::string description, std::string example);
  ~Command();
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  // ---- declarations ----
  /// The next positional argument: a file the command reads.
  Arg<std::string> input(std::string placeholder, std::string help);
  /// -o PLACEHOLDER: where the result goes (empty: standard output, allowed only when not `required`).
  Arg<std::string> output(std::string placeholder, std::string help, bool required);
  /// -o MODEL, required: where a fit saves its model.
  Arg<std::string> model_output() { return output("MODEL", "where to save the model", true); }
  /// -o OUT.csv: the CSV results (standard output by default).
  Arg<std::string> csv_output() { return output("OUT.csv", "where to write the results (default: standard output)", false); }
  /// An integer option in [minimum, maximum].
  template <std::integral Int>
  Arg<Int> integer(std::string name, std::string metavar, std::string help, Int fallback, Int minimum, Int maximum = std::numeric_limits<Int>::max()) {
    auto value = std::make_shared<Int>(fallback);
    declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), std::to_string(fallback),
            [value, minimum, maximum](const std::string& text) { *value = parse_integer<Int>(text, minimum, maximum); });
    return Arg<Int>(value);
  }
  /// An integer option without a default (`default_text` says what its absence means), at least `minimum`.
  Arg<std::optional<Eigen::Index>> optional_integer(std::string name, std::string metavar, std::string help, std::string default_text, Eigen::Index minimum);
  /// A required count (-n N): at least 1.
  Arg<Eigen::Index> count(std::string name, std::string metavar, std::string help);
  /// A number option in `range`.
  Arg<double> real(std::string name, std::string metavar, std::string help, double fallback, const Interval& range);
  /// A number option without a default (`default_text` says what its absence means).
  Arg<std::optional<double>> optional_real(std::string name, std::string metavar, std::string help, std::string default_text, const Interval& range);
  /// An enum option spelled as in model files: the values and the error come from the enum's name table.
  template <NamedEnum E> Arg<E> choice(std::string name, std::string metavar, std::string help, E fallback) {
    auto value = std::make_shared<E>(fallback);
    declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help) + ": " + enum_choices<E>(), std::string(enum_name(fallback)),
            [value](const std::string& text) {
              if (const auto e = enum_from_name<E>(text)) *value = *e;
              else throw UsageError("must be " + enum_choices<E>() + ", got '" + text + "'");
            });
    return Arg<E>(value);
  }
  /// A flag (no value): false unless given.
  Arg<bool> flag(std::string name, std::string help);
  /// --seed S: any 64-bit unsigned integer, default 0.
  Arg<std::uint64_t> seed(std::string help = "random seed");
  /// Comma-separated positive sizes ("64,64").
  Arg<std::vector<Eigen::Index>> sizes(std::string name, std::string metavar, std::string help, const std::string& fallback);
  /// A text option; `input`: it may name a file the command reads.
  Arg<std::string> text(std::string name, std::string metavar, std::string help, std::string fallback, bool input = false);
  /// A text option read by `parse` (which throws UsageError or std::invalid_argument for a bad value).
  template <class T> Arg<T> parsed(std::string name, std::string metavar, std::string help, const std::string& fallback, std::function<T(const std::string&)> parse) {
    auto value = std::make_shared<T>(parse(fallback));
    declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), fallback, [value, parse](const std::string& text) {
      try {
        *value = parse(text);
      } catch (const std::invalid_argument& e) { throw UsageError(std::string("is not valid: ") + e.what()); }
    });
    return Arg<T>(value);
  }
  /// --delimiter C and --header H, for the commands that read CSV (their help gets a "CSV input" section).
  Arg<io::CsvOptions> csv();
  /// Declares that the command runs on several ranks (under mpirun, in an MPI build): each reads its share of
  /// the rows (read_shard) and fits with ranks(); rank 0 prints and saves. Other commands refuse several ranks.
  /// `how` replaces the help's sentence on what the ranks compute (the fits: "the fit equals the one-process fit to rounding").
  void sharded(const char* how = nullptr);
  bool is_sharded() const { return sharded_; }
  /// What the command does once its command line is read.
  void action(std::function<void()> run) { action_ = std::move(run); }

  // ---- used by the tool ----
  /// "pml gmm fit".
  const std::string& path() const { return path_; }
  /// "fit".
  std::string name() const { return path_.substr(path_.rfind(' ') + 1); }
  const std::string& summary() const { return summary_; }
  /// "pml gmm fit DATA.csv -o MODEL [options]".
  std::string usage() const;
  /// The text of --help: usage, description, arguments, options, notes, example.
  std::string help() const;
  /// Reads args[1..] (args[0] is the command's name) and runs the action; prints the help for -h/--help.
  void run(int argc, const char* const* argv);

 private:
  /// Adds a declaration (to the parser too) and returns it, for the fields the arguments do not set.
  Declaration& declare(Declaration::Kind kind, std::string name, std::string metavar, std::string help, std::string default_text,
                       std::function<void(const std::string&)> set);
  struct Parser;
  std::string path_, summary_, description_, example_;
  std::vector<Declaration> declarations_;
  std::vector<std::pair<std::string, std::string>> notes_;  // a help section's closing paragraph
  std::function<void()> action_;
  std::unique_ptr<Parser> parser_;  // CLI11, in common.cpp only
  bool sharded_ = false;
};

/// A model family (`pml gmm`): its commands.
class Family {
 public:
  Family(std::string name, std::string description) : name_(std::move(name)), description_(std::move(description)) {}
  /// Declares `pml FAMILY NAME`: `summary` for the family's list, `description` and `example` for its help.
  Command& command(const std::string& name, std::string summary, std::string description, std::string example);
  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const std::vector<std::unique_ptr<Command>>& commands() const { return commands_; }
  Command* find(const std::string& command) const;
  /// The text of `pml FAMILY --help`: each command's usage and summary.
  std::string help() const;

 private:
  std::string name_, description_;
  std::vector<std::unique_ptr<Command>> commands_;
};

/// The whole tool: its families, the top-level help, dispatch and the exit codes.
class Tool {
 public:
  Family& family(std::string name, std::string description);
  /// Runs the command line; returns the exit code (0, 1: the operation failed, 2: the command line is wrong).
  int run(int argc, char** argv);
  /// "pml gmm fit": the command being run, for messages.
  const std::string& where() const { return where_; }
  std::string help() const;

 private:
  std::vector<std::unique_ptr<Family>> families_;
  std::string where_ = "pml";
};

// ---- the families (one file each) ----
void add_cluster_commands(Tool& tool);  // cluster.cpp: gmm, kmeans, vgmm
void add_latent_commands(Tool& tool);   // latent.cpp: pca, ppca
void add_linear_commands(Tool& tool);   // linear.cpp: blr
void add_deep_commands(Tool& tool);     // deep.cpp: mcdropout, cnn, bcnn, segnet, forecast, vae, gan, dcgan, infogan
void add_gaussian_process_commands(Tool& tool);  // gaussian_process.cpp: gp
void add_sequence_commands(Tool& tool);  // sequence.cpp: hmm

// ---- the processes ----
/// The processes this run uses: one (Collective::single()), or the ranks of MPI_COMM_WORLD when an MPI build of
/// the tool runs under mpirun (set by main()).
const Collective& ranks();
void set_ranks(const Collective* ranks);
/// Whether mpirun started this process (MPI is running, on one rank or more).
bool under_mpi();
/// Whether this process prints and writes: rank 0 (the only one without mpirun).
inline bool lead() { return ranks().rank() == 0; }
/// This rank's share of the rows of a CSV file (io::read_csv(ranks, ...): all of them on one process), as
/// read_data() checks them: every value finite (the error names the file's data row), at least one row in
/// all. `total` receives the rows of all ranks. An error on any rank is thrown on every rank.
Eigen::MatrixXd read_shard(const std::string& path, const io::CsvOptions& csv, Eigen::Index& total);

// ---- helpers the families share ----
/// The rows of a CSV file: at least one, every value finite.
Eigen::MatrixXd read_data(const std::string& path, const io::CsvOptions& csv);
/// Writes CSV to `path` (atomically), or to standard output when `path` is empty.
void emit(const std::string& path, const Eigen::MatrixXd& data, const std::vector<std::string>& columns);
/// read_data() for a fitted model: the rows must have `width` columns (the model's).
Eigen::MatrixXd read_data(const std::string& path, const io::CsvOptions& csv, Eigen::Index width);
/// prefix0, prefix1, ...
std::vector<std::string> names(const char* prefix, Eigen::Index n);
/// `rows` rows of `width` doubles: refused (a UsageError naming `option`) if they cannot fit in memory.
Eigen::Index row_count(Eigen::Index rows, const std::string& option, Eigen::Index width);
/// A network input - hidden... - output: refused (naming --hidden) if its weights and their training
/// state (value, gradient, two Adam moments) cannot fit in memory.
void check_network(const std::vector<Eigen::Index>& hidden, Eigen::Index input, Eigen::Index output, std::size_t scalar_bytes,
                   const char* option = "--hidden");

}  // namespace pml::cli
