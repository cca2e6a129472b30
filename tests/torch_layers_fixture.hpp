#pragma once
// The fixture file of tests/fixtures/make_torch_layers.py (PyTorch's image and recurrent layers), parsed
// once per test executable.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "pml/core/types.hpp"

namespace pml_test {
using pml::Index;

struct Case {
  std::string kind;
  std::map<std::string, double> p;
  std::map<std::string, std::vector<double>> a;
  Index i(const std::string& k) const { return static_cast<Index>(p.at(k)); }
  bool has(const std::string& k) const { return a.count(k) > 0; }
};

inline const std::vector<Case>& fixtures() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> out;
    std::ifstream in(PML_TEST_FIXTURES "/torch_layers.txt");
    REQUIRE(in);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream s(line);
      std::string head;
      s >> head;
      if (head == "case") {
        out.emplace_back();
        s >> out.back().kind;
        std::string kv;
        while (s >> kv) {
          const auto eq = kv.find('=');
          out.back().p[kv.substr(0, eq)] = std::stod(kv.substr(eq + 1));
        }
      } else if (head != "end") {
        std::size_t n = 0;
        s >> n;
        std::vector<double> v(n);
        for (auto& x : v) s >> x;
        REQUIRE(s);
        out.back().a[head] = std::move(v);
      }
    }
    return out;
  }();
  return cases;
}

/// A flat row-major array as a `rows` x (size / rows) matrix (PyTorch's N x C x H x W as N x (C·H·W)).
template <class T> pml::Matrix<T> rows_of(const std::vector<double>& flat, Index rows) {
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  return Eigen::Map<const RowMajor>(flat.data(), rows, static_cast<Index>(flat.size()) / rows).cast<T>();
}

/// The first case of `kind` whose parameters include every (key, value) of `where`.
inline const Case& find_case(const std::string& kind, const std::map<std::string, double>& where) {
  for (const Case& c : fixtures()) {
    if (c.kind != kind) continue;
    bool all = true;
    for (const auto& [k, v] : where) all = all && c.p.count(k) && c.p.at(k) == v;
    if (all) return c;
  }
  FAIL("no fixture case " << kind);
  throw;
}
}  // namespace pml_test
