#include <catch2/catch.hpp>

#include <limits>

#include "pml/core/check.hpp"
#include "pml/core/weights.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

TEST_CASE("checks name the function, the argument and the value", "[core][check]") {
  CHECK_THROWS_AS(pml::check_positive("normal", "scale", -2.0), std::domain_error);
  CHECK_THROWS_WITH(pml::check_positive("normal", "scale", -2.0),
                    Equals("normal: scale must be positive and finite, got -2"));
  CHECK_THROWS_WITH(pml::check_positive("normal", "scale", std::numeric_limits<double>::infinity()),
                    Contains("got inf"));
  CHECK_NOTHROW(pml::check_positive("normal", "scale", 1e-300));
  CHECK_THROWS_WITH(pml::check_probability("bernoulli", "p", 1.5), Contains("bernoulli: p must be a probability"));
  CHECK_THROWS_WITH(pml::check_probability("bernoulli", "p", std::nan("")), Contains("got nan"));
  CHECK_THROWS_WITH(pml::check_finite("f", "x", std::nan("")), Contains("f: x must be finite"));
  CHECK_THROWS_WITH(pml::check_nonnegative("f", "n", -1), Contains("n must be non-negative"));
  CHECK_THROWS_WITH(pml::check_greater("wishart", "df", 1.0, 2), Contains("wishart: df must be greater than 2, got 1"));
  CHECK_THROWS_AS(pml::check_size("f", "x", 3, 4), std::invalid_argument);
  CHECK_THROWS_WITH(pml::check_size("f", "x", 3, 4, "length"), Equals("f: x has length 3, expected 4"));
  CHECK_THROWS_AS(pml::check_nonempty("f", "data", 0), std::invalid_argument);
}

TEST_CASE("container checks locate the bad entry", "[core][check]") {
  Eigen::VectorXd p(3);
  p << 0.5, 0.6, -0.1;
  CHECK_THROWS_WITH(pml::check_all_nonnegative("categorical", "probs", p), Contains("entry 2"));
  p << 0.5, 0.6, 0.1;
  CHECK_THROWS_WITH(pml::check_simplex("categorical", "probs", p), Contains("probs must sum to 1"));
  p << 0.5, 0.4, 0.1;
  CHECK_NOTHROW(pml::check_simplex("categorical", "probs", p));
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(2, 2);
  m(1, 0) = std::nan("");
  CHECK_THROWS_WITH(pml::check_all_finite("f", "x", m), Contains("(1, 0)"));
  CHECK_THROWS_WITH(pml::check_square("f", "cov", Eigen::MatrixXd(2, 3)), Contains("cov must be square, got 2x3"));
}

TEST_CASE("sample weights are validated", "[core][check]") {
  Eigen::VectorXd w(3);
  w << 1, 2, 3;
  CHECK(pml::detail::weights_or_ones<double>("fit", w, 3) == w);
  CHECK(pml::detail::weights_or_ones<double>("fit", Eigen::VectorXd(), 2) == Eigen::VectorXd::Ones(2));
  CHECK_THROWS_WITH(pml::detail::weights_or_ones<double>("fit", w, 4), Contains("fit: weights has length 3, expected 4"));
  w << 1, -2, 3;
  CHECK_THROWS_WITH(pml::detail::weights_or_ones<double>("fit", w, 3), Contains("weights must have non-negative"));
  CHECK_THROWS_WITH(pml::detail::weights_or_ones<double>("fit", Eigen::VectorXd::Zero(3), 3), Contains("positive sum"));
  CHECK_THROWS_WITH(pml::detail::weights_or_ones<double>("fit", Eigen::VectorXd(), 0), Contains("data must not be empty"));
}

TEST_CASE("SampleWeights: the given weights in place, or ones without an N-vector", "[core][check]") {
  Eigen::VectorXd w(5);
  w << 1, 2, 3, 4, 5;
  const pml::detail::SampleWeights<double> given("fit", w, 5, 2);
  CHECK_FALSE(given.uniform());
  CHECK(given.given().data() == w.data());  // a view, not a copy
  CHECK(given(3) == 4);
  CHECK(given.segment(1, 4) == w.segment(1, 4));
  CHECK(given.sum() == 15);
  const pml::detail::SampleWeights<double> ones("fit", Eigen::VectorXd(), 1000000, 64);
  CHECK(ones.uniform());
  CHECK(ones(999999) == 1);
  CHECK(ones.segment(999936, 64) == Eigen::VectorXd::Ones(64));
  CHECK(ones.sum() == 1e6);
  CHECK(ones.size() == 1000000);
  CHECK_THROWS_AS(ones.segment(0, 65), std::logic_error);  // longer than the block of ones it keeps
  CHECK_THROWS_WITH(pml::detail::SampleWeights<double>("fit", w, 4, 2), Contains("fit: weights has length 5, expected 4"));
  CHECK_THROWS_WITH(pml::detail::SampleWeights<double>("fit", Eigen::VectorXd(), 0, 2), Contains("data must not be empty"));
}
