// A small MLP regressor trained with the autodiff tape and Adam: y = sin(3x) + noise, a 1-32-32-1 tanh
// network, full-batch training. Prints the loss as it falls and the fit at a few points.
#include <cmath>
#include <cstdio>

#include <pml/autodiff.hpp>
#include <pml/nn.hpp>

int main() {
  pml::Rng rng(8);
  const int n = 200;
  Eigen::MatrixXd x(n, 1), noise(n, 1);
  pml::random::fill_uniform(rng, x);
  x = (x.array() * 4 - 2).matrix();
  pml::random::fill_normal(rng, noise, 0.0, 0.1);
  const Eigen::MatrixXd y = (3 * x.array()).sin().matrix() + noise;

  pml::nn::MLP<double> net({.sizes = {1, 32, 32, 1}, .activation = pml::ad::Activation::tanh}, rng);
  pml::nn::Adam<double> adam(net.parameters(), {.learning_rate = 0.01});
  pml::ad::Tape<double> tape;
  std::printf("MLP 1-32-32-1 (tanh) on y = sin(3x) + N(0, 0.1^2), %d points, Adam lr 0.01\n\n%6s %12s\n", n, "step", "MSE");
  double first = 0, last = 0;
  for (int step = 0; step <= 1500; ++step) {
    tape.reset();
    const auto loss = pml::ad::mean(pml::ad::square(net.forward(tape, tape.constant(x)) - tape.constant(y)));
    tape.backward(loss);  // fills every parameter's grad
    adam.step();
    last = loss.value()(0, 0);
    if (step == 0) first = last;
    if (step % 250 == 0) std::printf("%6d %12.5f\n", step, last);
  }
  std::printf("\n%6s %10s %10s\n", "x", "sin(3x)", "MLP");
  Eigen::MatrixXd grid(5, 1);
  grid << -1.5, -0.5, 0.0, 0.5, 1.5;
  const Eigen::MatrixXd fit = net.predict(grid);
  for (int i = 0; i < grid.rows(); ++i) std::printf("%6.2f %10.4f %10.4f\n", grid(i, 0), std::sin(3 * grid(i, 0)), fit(i, 0));
  std::printf("\nloss fell from %.4f to %.4f (noise variance 0.01)\n", first, last);
  return last < 0.1 * first && last < 0.03 ? 0 : 1;
}
