// A small MLP regressor trained with the autodiff tape and Adam: y = sin(3x) + noise, a 1-32-1 tanh
// network, full-batch training. Prints the loss as it falls and the fit at a few points.
#include <cmath>
#include <cstdio>

#include <pml/autodiff.hpp>
#include <pml/nn/adam.hpp>
#include <pml/nn/linear.hpp>

int main() {
  pml::Rng rng(8);
  const int n = 200;
  Eigen::MatrixXd x(n, 1), noise(n, 1);
  pml::random::fill_uniform(rng, x);
  x = (x.array() * 4 - 2).matrix();
  pml::random::fill_normal(rng, noise, 0.0, 0.1);
  const Eigen::MatrixXd y = (3 * x.array()).sin().matrix() + noise;

  pml::nn::Linear<double> hidden(1, 32, rng), output(32, 1, rng);
  pml::nn::Adam<double> adam(0.01);
  pml::ad::Tape<double> tape;
  std::printf("MLP 1-32-1 (tanh) on y = sin(3x) + N(0, 0.1^2), %d points, Adam lr 0.01\n\n%6s %12s\n", n, "step", "MSE");
  double first = 0, last = 0;
  for (int step = 0; step <= 2000; ++step) {
    tape.reset();
    const auto vx = tape.variable(x), vy = tape.variable(y);
    const auto h = pml::ad::tanh(hidden.forward(tape, vx));
    const auto loss = pml::ad::mean(pml::ad::square(output.forward(tape, h) - vy));
    tape.backward(loss);
    adam.begin_step();
    adam.update(0, hidden.weight(), hidden.weight_gradient());
    adam.update(1, hidden.bias(), hidden.bias_gradient());
    adam.update(2, output.weight(), output.weight_gradient());
    adam.update(3, output.bias(), output.bias_gradient());
    last = loss.value()(0, 0);
    if (step == 0) first = last;
    if (step % 250 == 0) std::printf("%6d %12.5f\n", step, last);
  }
  std::printf("\n%6s %10s %10s\n", "x", "sin(3x)", "MLP");
  for (double v : {-1.5, -0.5, 0.0, 0.5, 1.5}) {
    tape.reset();
    const auto vx = tape.variable(Eigen::MatrixXd::Constant(1, 1, v));
    const auto out = output.forward(tape, pml::ad::tanh(hidden.forward(tape, vx)));
    std::printf("%6.2f %10.4f %10.4f\n", v, std::sin(3 * v), out.value()(0, 0));
  }
  std::printf("\nloss fell from %.4f to %.4f (noise variance 0.01)\n", first, last);
  return last < 0.1 * first && last < 0.03 ? 0 : 1;
}
