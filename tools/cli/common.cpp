// The pml tool's declarations made into a CLI11 parser and into help texts; dispatch, errors and exit
// codes; the helpers the model families share. The only file of the tool that includes CLI11.
#include "common.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <unistd.h>

#include <CLI/CLI.hpp>

namespace pml::cli {
namespace {

constexpr const char* kVersion = "pml 0.1";
constexpr std::size_t kHelpWidth = 100;  // help lines are wrapped to this width

/// Writes `text` to standard output (failures are caught when main() closes it).
void print(const std::string& text) {
  if (lead()) std::fputs(text.c_str(), stdout);
}

/// `text` as one line: line breaks become spaces.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

/// `text` wrapped to kHelpWidth, continuing a line that is already `column` wide; later lines are indented
/// by `indent`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t column = 0) {
  std::string out;
  bool words_on_line = false;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (words_on_line && column + 1 + word.size() > kHelpWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      words_on_line = false;
    }
    if (words_on_line) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    words_on_line = true;
  }
  return out;
}

/// The words with `separator` between them.
std::string join(const std::vector<std::string>& words, const std::string& separator) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

/// A command-line word that names an option ("--x", "-x"), not a number or a file such as "-" or "-1.5".
bool looks_like_option(const std::string& word) {
  return word.size() > 1 && word[0] == '-' && (std::isalpha(static_cast<unsigned char>(word[1])) != 0 || word[1] == '-');
}

}  // namespace

double parse_real(const std::string& text, const Interval& range) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  const bool blank = text.empty() || std::isspace(static_cast<unsigned char>(text[0])) != 0;
  if (blank || *end != '\0' || !std::isfinite(v)) throw UsageError("needs a number, got '" + text + "'");
  if ((range.open_low ? !(v > range.low) : !(v >= range.low)) || !(v < range.high))
    throw UsageError(std::string("must be ") + range.words + ", got " + text);
  return v;
}

// ---- Command: the declarations, CLI11, the help ----

struct Command::Parser {
  CLI::App app;
  std::deque<std::string> texts;      // the text given to each declaration (CLI11 writes it)
  std::vector<CLI::Option*> options;  // CLI11's option of each declaration
};

Command::Command(std::string path, std::string summary, std::string description, std::string example)
    : path_(std::move(path)), summary_(std::move(summary)), description_(std::move(description)), example_(std::move(example)),
      parser_(std::make_unique<Parser>()) {
  CLI::App& app = parser_->app;
  app.name(path_);
  app.set_help_flag("-h,--help", "print this help");
  app.allow_extras();  // unknown options and surplus arguments are reported by run(), in its words
}

Command::~Command() = default;

Declaration& Command::declare(Declaration::Kind kind, std::string name, std::string metavar, std::string help, std::string default_text,
                              std::function<void(const std::string&)> set) {
  CLI::App& app = parser_->app;
  std::string& text = parser_->texts.emplace_back();
  CLI::Option* option = nullptr;
  switch (kind) {
    case Declaration::Kind::positional:  // CLI11 positionals are named; the placeholder is ours
      option = app.add_option("argument" + std::to_string(parser_->options.size()), text);
      break;
    case Declaration::Kind::option:
      option = app.add_option(name, text)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      break;
    case Declaration::Kind::flag:
      option = app.add_flag(name)->disable_flag_override();
      break;
  }
  parser_->options.push_back(option);
  Declaration& d = declarations_.emplace_back();
  d.kind = kind;
  d.name = std::move(name);
  d.metavar = std::move(metavar);
  d.help = std::move(help);
  d.default_text = std::move(default_text);
  d.set = std::move(set);
  return d;
}

Arg<std::string> Command::input(std::string placeholder, std::string help) {
  auto value = std::make_shared<std::string>();
  declare(Declaration::Kind::positional, std::move(placeholder), "", std::move(help), "", [value](const std::string& text) { *value = text; }).input = true;
  return Arg<std::string>(value);
}

Arg<std::string> Command::output(std::string placeholder, std::string help, bool required) {
  auto value = std::make_shared<std::string>();
  declare(Declaration::Kind::option, "-o", std::move(placeholder), std::move(help), "", [value](const std::string& text) {
    if (text.empty()) throw UsageError("needs a file name, got ''");
    *value = text;
  }).required = required;
  return Arg<std::string>(value);
}

Arg<std::optional<Eigen::Index>> Command::optional_integer(std::string name, std::string metavar, std::string help, std::string default_text, Eigen::Index minimum) {
  auto value = std::make_shared<std::optional<Eigen::Index>>();
  declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), std::move(default_text), [value, minimum](const std::string& text) {
    *value = parse_integer<Eigen::Index>(text, minimum, std::numeric_limits<Eigen::Index>::max());
  });
  return Arg<std::optional<Eigen::Index>>(value);
}

Arg<Eigen::Index> Command::count(std::string name, std::string metavar, std::string help) {
  auto value = std::make_shared<Eigen::Index>(0);
  declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), "", [value](const std::string& text) {
    *value = parse_integer<Eigen::Index>(text, 1, std::numeric_limits<Eigen::Index>::max());
  }).required = true;
  return Arg<Eigen::Index>(value);
}

Arg<double> Command::real(std::string name, std::string metavar, std::string help, double fallback, const Interval& range) {
  auto value = std::make_shared<double>(fallback);
  char shown[32];
  std::snprintf(shown, sizeof shown, "%g", fallback);
  declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), shown,
          [value, range](const std::string& text) { *value = parse_real(text, range); });
  return Arg<double>(value);
}

Arg<std::optional<double>> Command::optional_real(std::string name, std::string metavar, std::string help, std::string default_text, const Interval& range) {
  auto value = std::make_shared<std::optional<double>>();
  declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), std::move(default_text),
          [value, range](const std::string& text) { *value = parse_real(text, range); });
  return Arg<std::optional<double>>(value);
}

Arg<bool> Command::flag(std::string name, std::string help) {
  auto value = std::make_shared<bool>(false);
  declare(Declaration::Kind::flag, std::move(name), "", std::move(help), "", [value](const std::string&) { *value = true; });
  return Arg<bool>(value);
}

Arg<std::uint64_t> Command::seed(std::string help) {
  auto value = std::make_shared<std::uint64_t>(0);
  declare(Declaration::Kind::option, "--seed", "S", std::move(help), "0", [value](const std::string& text) {
    const char* const last = text.data() + text.size();
    const auto [end, error] = std::from_chars(text.data(), last, *value);
    if (text.empty() || error != std::errc{} || end != last)
      throw UsageError("needs an integer from 0 to " + std::to_string(std::numeric_limits<std::uint64_t>::max()) + ", got '" + text + "'");
  });
  return Arg<std::uint64_t>(value);
}

Arg<std::vector<Eigen::Index>> Command::sizes(std::string name, std::string metavar, std::string help, const std::string& fallback) {
  const auto parse = [](const std::string& text) {
    std::vector<Eigen::Index> out;
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = std::min(text.find(',', start), text.size());
      const std::string item = text.substr(start, end - start);
      Eigen::Index v = 0;
      const auto [stop, error] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (error == std::errc::result_out_of_range && stop == item.data() + item.size())
        throw UsageError("needs sizes of at most " + std::to_string(std::numeric_limits<Eigen::Index>::max()) + ", got '" + text + "'");
      if (item.empty() || error != std::errc{} || stop != item.data() + item.size() || v < 1)
        throw UsageError("needs positive integers separated by commas, got '" + text + "'");
      out.push_back(v);
      start = end + 1;
    }
    return out;
  };
  auto value = std::make_shared<std::vector<Eigen::Index>>(parse(fallback));
  declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), fallback,
          [value, parse](const std::string& text) { *value = parse(text); });
  return Arg<std::vector<Eigen::Index>>(value);
}

Arg<std::string> Command::text(std::string name, std::string metavar, std::string help, std::string fallback, bool input) {
  auto value = std::make_shared<std::string>(fallback);
  declare(Declaration::Kind::option, std::move(name), std::move(metavar), std::move(help), std::move(fallback),
          [value](const std::string& text) { *value = text; }).input = input;
  return Arg<std::string>(value);
}

Arg<io::CsvOptions> Command::csv() {
  auto value = std::make_shared<io::CsvOptions>();
  const std::string group = "CSV input";
  declare(Declaration::Kind::option, "--delimiter", "C", "the field separator: one character, tab or space", ",", [value](const std::string& d) {
    if (d == "tab" || d == "\\t") value->delimiter = '\t';
    else if (d == "space") value->delimiter = ' ';
    else if (d.size() == 1) value->delimiter = d[0];
    else throw UsageError("needs one character, tab or space, got '" + d + "'");
    if (!io::is_valid_delimiter(value->delimiter)) throw UsageError("must not be a quote, a digit, '.', '+', '-', 'e' or 'E', got '" + d + "'");
  }).group = group;
  declare(Declaration::Kind::option, "--header", "H",
          "yes: line 1 holds the column names; no: line 1 is data; auto: line 1 is a header when it holds only names, data when it "
          "holds only numbers, and an error otherwise",
          "auto", [value](const std::string& h) {
            if (h == "yes") value->header = io::Header::yes;
            else if (h == "no") value->header = io::Header::no;
            else if (h == "auto") value->header = io::Header::detect;
            else throw UsageError("must be yes, no or auto, got '" + h + "'");
          }).group = group;
  notes_.emplace_back(group, "Numbers are read whole (blanks around them ignored, one optional sign); empty, ?, NA, N/A and NaN are "
                             "missing values; a field that is not a number stops the command with its line and column.");
  return Arg<io::CsvOptions>(value);
}

std::string Command::usage() const {
  std::string out = path_;
  bool optional = false;
  for (const Declaration& d : declarations_) {
    if (d.kind == Declaration::Kind::positional) out += " " + d.name;
    else if (d.required) out += " " + d.name + " " + d.metavar;
    else optional = true;
  }
  return optional ? out + " [options]" : out;
}

std::string Command::help() const {
  // the left column: "  NAME METAVAR", as wide as the widest that fits
  const auto left = [](const Declaration& d) { return "  " + d.name + (d.metavar.empty() ? "" : " " + d.metavar); };
  std::size_t column = std::string("  -h, --help").size();
  for (const Declaration& d : declarations_) column = std::max(column, left(d).size());
  column = std::min<std::size_t>(column + 2, 24);
  const auto line = [&](const std::string& name, const std::string& help) {
    std::string out = name;
    if (out.size() + 1 > column) out += "\n" + std::string(column, ' ');
    else out += std::string(column - out.size(), ' ');
    return out + wrap(help, column, column) + "\n";
  };
  const auto entry = [&](const Declaration& d) {
    std::string help = d.help;
    if (d.required) help += " (required)";
    if (!d.default_text.empty()) help += " (default " + d.default_text + ")";
    return line(left(d), help);
  };

  std::string out = "usage: " + usage() + "\n\n" + wrap(description_, 0) + "\n";
  std::string section;
  for (const Declaration& d : declarations_)
    if (d.kind == Declaration::Kind::positional) section += entry(d);
  if (!section.empty()) out += "\narguments:\n" + section;
  out += "\noptions:\n";
  for (const Declaration& d : declarations_)
    if (d.kind != Declaration::Kind::positional && d.group.empty()) out += entry(d);
  out += line("  -h, --help", "print this help");
  std::vector<std::string> groups;
  for (const Declaration& d : declarations_)
    if (!d.group.empty() && std::find(groups.begin(), groups.end(), d.group) == groups.end()) groups.push_back(d.group);
  for (const std::string& group : groups) {
    out += "\n" + group + ":\n";
    for (const Declaration& d : declarations_)
      if (d.group == group) out += entry(d);
    for (const auto& [g, note] : notes_)
      if (g == group) out += "  " + wrap(note, 2, 2) + "\n";
  }
  return out + "\nexample: " + example_ + "\n";
}

void Command::run(int argc, const char* const* argv) {
  CLI::App& app = parser_->app;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    print(help());
    return;
  } catch (const CLI::ArgumentMismatch& e) {
    // CLI11 runs out of words only at the end: the last word is an option without its value
    // (or a flag given a value, --proba=yes: CLI11 names it without its dashes)
    const std::string what = e.what();
    if (what.find("flag override") != std::string::npos) {
      const std::string name = what.substr(0, what.find(' '));
      throw UsageError("option " + std::string(name.size() == 1 ? "-" : "--") + name + " takes no value");
    }
    throw UsageError("option " + std::string(argc > 1 ? argv[argc - 1] : "") + " needs a value");
  } catch (const CLI::ParseError& e) {
    throw UsageError(one_line(e.what()));
  }
  // unknown options first, then the positionals, the required options and the values, in that order
  std::size_t surplus = 0;
  bool only_positionals = false;  // after "--"
  for (const std::string& word : app.remaining()) {
    if (!only_positionals && word == "--") only_positionals = true;
    else if (!only_positionals && looks_like_option(word)) throw UsageError("unknown option '" + word.substr(0, word.find('=')) + "'");
    else ++surplus;
  }
  std::vector<std::string> expected;
  std::size_t given = surplus;
  bool missing = false;
  for (std::size_t i = 0; i < declarations_.size(); ++i)
    if (declarations_[i].kind == Declaration::Kind::positional) {
      expected.push_back(declarations_[i].name);
      if (parser_->options[i]->count() > 0) ++given;
      else missing = true;
    }
  if (surplus > 0 || missing) {
    const std::string wanted = expected.empty() ? "no positional arguments" : join(expected, " ");
    throw UsageError("expected " + wanted + ", got " + std::to_string(given) + " argument" + (given == 1 ? "" : "s"));
  }
  for (std::size_t i = 0; i < declarations_.size(); ++i) {
    const Declaration& d = declarations_[i];
    if (d.required && parser_->options[i]->count() == 0) throw UsageError(d.name + " " + d.metavar + " is required (" + d.help + ")");
  }
  std::string output;
  std::vector<std::string> inputs;
  for (std::size_t i = 0; i < declarations_.size(); ++i) {
    const Declaration& d = declarations_[i];
    if (parser_->options[i]->count() == 0) continue;
    const std::string& text = parser_->texts[i];
    try {
      d.set(text);
    } catch (const UsageError& e) { throw UsageError("option " + d.name + " " + e.what()); }
    if (d.input) inputs.push_back(text);
    if (d.name == "-o") output = text;
  }
  // every input must survive: -o must not replace one of them
  if (!output.empty())
    for (const std::string& input : inputs) {
      std::error_code ec;
      if (std::filesystem::equivalent(output, input, ec) && !ec)
        throw UsageError("-o '" + output + "' is the input file '" + input + "': refusing to overwrite an input (choose another output file)");
    }
  if (!action_) throw std::logic_error(path_ + " was declared without an action");
  action_();
}

// ---- families and the tool ----

Command& Family::command(const std::string& name, std::string summary, std::string description, std::string example) {
  return *commands_.emplace_back(std::make_unique<Command>("pml " + name_ + " " + name, std::move(summary), std::move(description), std::move(example)));
}

Command* Family::find(const std::string& command) const {
  for (const auto& c : commands_)
    if (c->name() == command) return c.get();
  return nullptr;
}

std::string Family::help() const {
  std::size_t column = 0;
  for (const auto& c : commands_) column = std::max(column, c->usage().size());
  std::string out = "pml " + name_ + ": " + description_ + "\n\n";
  for (const auto& c : commands_) out += "  " + c->usage() + std::string(column + 2 - c->usage().size(), ' ') + c->summary() + "\n";
  return out + "\nRun pml " + name_ + " <command> --help for details.\n";
}

Family& Tool::family(std::string name, std::string description) {
  return *families_.emplace_back(std::make_unique<Family>(std::move(name), std::move(description)));
}

std::string Tool::help() const {
  std::size_t name_column = 0, command_column = 0;
  const auto command_list = [](const Family& f) {
    std::vector<std::string> commands;
    for (const auto& c : f.commands()) commands.push_back(c->name());
    return join(commands, " | ");
  };
  for (const auto& f : families_) {
    name_column = std::max(name_column, f->name().size() + 2);
    command_column = std::max(command_column, command_list(*f).size() + 2);
  }
  std::string out = "pml - probabilistic models from the command line\n\nusage: pml <model> <command> [arguments] [options]\n\nmodels and commands:\n";
  for (const auto& f : families_) {
    const std::string commands = command_list(*f);
    out += "  " + f->name() + std::string(name_column - f->name().size(), ' ') + commands + std::string(command_column - commands.size(), ' ') +
           f->description() + "\n";
  }
  return out + "\n" +
         wrap("Data are CSV files with one sample per row (--header yes|no|auto: a line of names is a header, a line of numbers is data; "
              "--delimiter C for other separators); results go to standard output as CSV unless -o FILE is given. -o writes through "
              "symbolic links, writes FIFOs, devices and /dev/stdout directly, and refuses an input file and read-only files. Every "
              "command has --help with an example.",
              0) +
         "\n\n  pml gmm fit data.csv --components 3 -o model.pml\n  pml gmm predict model.pml data.csv > labels.csv\n\noptions: --help, --version\n";
}

namespace {
// The error line of a failed command, once. On several ranks every rank arrives here exactly once (whether its
// command succeeded or failed), so they exchange outcomes: rank 0 prints the message of the lowest failing
// rank (naming that rank unless every rank failed alike or the message names it already) and every rank
// returns that rank's exit code.
int report(const std::string& where, int code, std::string message) {
  const Collective& r = ranks();
  if (r.size() == 1) {
    if (code != 0 && !message.empty()) std::fprintf(stderr, "%s: %s\n", where.c_str(), message.c_str());
    return code;
  }
  std::vector<double> codes(static_cast<std::size_t>(r.size()), 0.0);
  codes[static_cast<std::size_t>(r.rank())] = double(code);
  r.sum(codes.data(), codes.size());
  int first = -1, failing = 0;
  for (int q = 0; q < r.size(); ++q)
    if (codes[static_cast<std::size_t>(q)] != 0) {
      if (first < 0) first = q;
      ++failing;
    }
  if (first < 0) return 0;
  r.broadcast(message, first);
  if (lead() && !message.empty()) {
    if (failing < r.size() && message.find("(on rank ") == std::string::npos)
      message += " (on rank " + std::to_string(first) + " of " + std::to_string(r.size()) + ")";
    std::fprintf(stderr, "%s: %s\n", where.c_str(), message.c_str());
  }
  return static_cast<int>(codes[static_cast<std::size_t>(first)]);
}
}  // namespace

int Tool::run(int argc, char** argv) {
  int code = 0;
  std::string message;  // the error, printed after "pml gmm fit: "
  auto body = [&]() -> int {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
      print(help());
      return argc < 2 ? 2 : 0;
    }
    const std::string model = argv[1];
    if (model == "--version") {
      print(std::string(kVersion) + "\n");
      return 0;
    }
    const auto family = std::find_if(families_.begin(), families_.end(), [&](const auto& f) { return f->name() == model; });
    if (family == families_.end()) {
      std::vector<std::string> known;
      for (const auto& f : families_) known.push_back(f->name());
      throw UsageError("unknown model '" + model + "' (" + join(known, ", ") + "; see pml --help)");
    }
    where_ += " " + model;
    if (argc < 3 || std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h") {
      print((*family)->help());
      return argc < 3 ? 2 : 0;
    }
    const std::string name = argv[2];
    Command* const command = (*family)->find(name);
    if (command == nullptr) {
      std::vector<std::string> known;
      for (const auto& c : (*family)->commands()) known.push_back(c->name());
      throw UsageError("unknown command '" + name + "' (" + join(known, ", ") + ")");
    }
    where_ += " " + name;
    if (ranks().size() > 1 && !command->is_sharded()) {
      std::vector<std::string> several;  // the commands that do run on several ranks
      for (const auto& f : families_)
        for (const auto& c : f->commands())
          if (c->is_sharded()) several.push_back(f->name() + " " + c->name());
      throw UsageError("runs on one process only (of the commands, " + join(several, ", ") + " run on several): run it without mpirun");
    }
    command->run(argc - 2, argv + 2);
    return 0;
  };
  try {
    code = body();
  } catch (const UsageError& e) {
    code = 2, message = one_line(e.what()) + " (see " + where_ + " --help)";
  } catch (const std::exception& e) {
    code = 1, message = one_line(e.what());
  } catch (...) {
    code = 1, message = "unknown error";
  }
  return report(where_, code, std::move(message));
}

// ---- the processes ----

namespace {
const Collective* current_ranks = nullptr;
}
const Collective& ranks() { return current_ranks ? *current_ranks : Collective::single(); }
void set_ranks(const Collective* r) { current_ranks = r; }
bool under_mpi() { return current_ranks != nullptr; }

void Command::sharded(const char* how) {
  sharded_ = true;
  description_ += std::string(" Runs on several processes too: under mpirun (a pml built with MPI) each rank reads its share of the rows ") +
                  (how ? how : "and the fit equals the one-process fit to rounding") + "; rank 0 prints and saves.";
}

Eigen::MatrixXd read_shard(const std::string& path, const io::CsvOptions& csv, Eigen::Index& total) {
  const Collective& r = ranks();
  const auto table = io::read_csv<double>(r, path, csv);
  const std::vector<Index> counts = pml::detail::all_counts(r, table.data.rows());
  Index offset = 0;
  total = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    if (int(k) < r.rank()) offset += counts[k];
    total += counts[k];
  }
  if (total == 0) throw std::runtime_error("'" + path + "' has no data rows");
  pml::detail::agree(r, [&] {
    if (table.data.allFinite()) return;
    for (Eigen::Index i = 0; i < table.data.rows(); ++i)
      for (Eigen::Index j = 0; j < table.data.cols(); ++j)
        if (!std::isfinite(table.data(i, j)))
          throw std::runtime_error("'" + path + "' data row " + std::to_string(offset + i + 1) + ", column " + std::to_string(j + 1) +
                                   ": missing or non-finite value (this model needs complete data)");
  });
  return table.data;
}

// ---- helpers the families share ----

Eigen::MatrixXd read_data(const std::string& path, const io::CsvOptions& csv) {
  const auto table = io::read_csv<double>(path, csv);
  if (table.data.rows() == 0) throw std::runtime_error("'" + path + "' has no data rows");
  if (!table.data.allFinite()) {
    for (Eigen::Index i = 0; i < table.data.rows(); ++i)
      for (Eigen::Index j = 0; j < table.data.cols(); ++j)
        if (!std::isfinite(table.data(i, j)))
          throw std::runtime_error("'" + path + "' data row " + std::to_string(i + 1) + ", column " + std::to_string(j + 1) +
                                   ": missing or non-finite value (this model needs complete data)");
  }
  return table.data;
}

void emit(const std::string& path, const Eigen::MatrixXd& data, const std::vector<std::string>& columns) {
  if (!path.empty()) {
    io::write_csv(path, data, columns);
  } else {
    const std::string text = io::format_csv(data, columns);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      throw std::runtime_error(std::string("cannot write to standard output: ") + std::strerror(errno));
  }
}

Eigen::MatrixXd read_data(const std::string& path, const io::CsvOptions& csv, Eigen::Index width) {
  Eigen::MatrixXd x = read_data(path, csv);
  if (x.cols() != width)
    throw std::runtime_error("'" + path + "' has " + std::to_string(x.cols()) + " columns but the model was fitted to " + std::to_string(width));
  return x;
}

std::vector<std::string> names(const char* prefix, Eigen::Index n) {
  std::vector<std::string> out;
  for (Eigen::Index i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

namespace {
// The machine's physical memory in bytes (an upper bound for what one command may ask for).
long double physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<long double>(pages) * static_cast<long double>(page) : 1e18L;
}
std::string gigabytes(long double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3Lg GB", bytes / 1e9L);
  return buf;
}
}  // namespace

Eigen::Index row_count(Eigen::Index rows, const std::string& option, Eigen::Index width) {
  const long double bytes = static_cast<long double>(rows) * static_cast<long double>(std::max<Eigen::Index>(width, 1)) * 8.0L;
  if (bytes > physical_memory())
    throw UsageError("option " + option + " asks for " + std::to_string(rows) + " rows of " + std::to_string(width) + " values (" + gigabytes(bytes) +
                     "), more than this machine's " + gigabytes(physical_memory()) + " of memory");
  return rows;
}

void check_network(const std::vector<Eigen::Index>& hidden, Eigen::Index input, Eigen::Index output, std::size_t scalar_bytes, const char* option) {
  long double parameters = 0;
  Eigen::Index previous = input;
  for (const Eigen::Index h : hidden) {
    parameters += (static_cast<long double>(previous) + 1) * static_cast<long double>(h);
    previous = h;
  }
  parameters += (static_cast<long double>(previous) + 1) * static_cast<long double>(output);
  const long double bytes = parameters * 4.0L * static_cast<long double>(scalar_bytes);
  if (bytes > physical_memory()) {
    std::vector<std::string> sizes;
    for (const Eigen::Index h : hidden) sizes.push_back(std::to_string(h));
    throw UsageError(std::string("option ") + option + " " + join(sizes, ",") + " makes a network of " + gigabytes(bytes) + " of weights and training state, more than this machine's " +
                     gigabytes(physical_memory()) + " of memory");
  }
}

}  // namespace pml::cli
