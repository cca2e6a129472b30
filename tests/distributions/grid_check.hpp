#pragma once
// Checks a function against a table of tests/fixtures/mpmath_reference.hpp (issue 12): every row
// {inputs..., value} must agree to `tolerance` relative error, measured against max(|value|, floor)
// so that values near 0 are held to the absolute error tolerance * floor; an exact 0 must come out
// within tolerance * 1e-3. Set PML_PRINT_GRID_ERRORS=1 to print the worst error of each table.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace pml_test {

template <std::size_t W, std::size_t N, class F>
double check_grid(const char* name, const std::array<std::array<double, W>, N>& table, F f, double tolerance,
                  double floor) {
  double worst = 0;
  int reported = 0;
  for (const auto& row : table) {
    const double want = row[W - 1];
    const double got = static_cast<double>(f(row));
    const double scale = want == 0 ? 1e-3 : std::max(std::abs(want), floor);
    double err = got == want ? 0.0 : std::abs(got - want) / scale;
    if (std::isnan(err)) err = std::numeric_limits<double>::infinity();
    worst = std::max(worst, err);
    if (err > tolerance && reported < 5) {
      ++reported;
      std::ostringstream os;
      os.precision(17);
      os << name << "(";
      for (std::size_t i = 0; i + 1 < W; ++i) os << (i ? ", " : "") << row[i];
      os << ") = " << got << ", reference " << want << ", error " << err;
      FAIL_CHECK(os.str());
    }
  }
  if (std::getenv("PML_PRINT_GRID_ERRORS")) std::printf("%-32s %5zu points, worst error %.3g\n", name, N, worst);
  CHECK(worst <= tolerance);
  return worst;
}

}  // namespace pml_test
