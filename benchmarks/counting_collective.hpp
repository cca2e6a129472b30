// The MPI benchmarks' communicator wrapper: counts the bytes and calls this rank hands to the collectives,
// and the time spent in the float sums (the networks' gradient messages, waiting for the slower rank included).
#pragma once
#include <chrono>
#include <string>

#include "pml/core/collective.hpp"

class Counting final : public pml::Collective {
 public:
  explicit Counting(const pml::Collective& inner) : inner_(inner) {}
  int rank() const noexcept override { return inner_.rank(); }
  int size() const noexcept override { return inner_.size(); }
  void sum(double* d, std::size_t n) const override { bytes += 8 * n, ++calls, inner_.sum(d, n); }
  void sum(float* d, std::size_t n) const override {
    bytes += 4 * n, ++calls;
    const auto t0 = std::chrono::steady_clock::now();
    inner_.sum(d, n);
    float_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  void max(double* d, std::size_t n) const override { bytes += 8 * n, ++calls, inner_.max(d, n); }
  void broadcast(std::string& s, int root) const override { bytes += s.size(), ++calls, inner_.broadcast(s, root); }
  mutable double bytes = 0;
  mutable long calls = 0;
  mutable double float_seconds = 0;

 private:
  const pml::Collective& inner_;
};
