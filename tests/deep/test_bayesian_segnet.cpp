// BayesianSegNet (MC dropout SegNet, Kendall et al. 2017): the loss's gradient, learning to segment
// squares on noise with more uncertainty on the squares' boundaries than elsewhere (the test),
// the same passes for any thread count, save/load bit for bit with the running statistics, errors.
#include <catch2/catch.hpp>

#include <filesystem>

#include "pml/core/parallel.hpp"
#include "pml/models/deep/bayesian_segnet.hpp"
#include "pml/nn/gradcheck.hpp"

using Catch::Matchers::Contains;
using pml::Index;

namespace {
// n images of size x size: one bright square (class 1) of side 4..8 on noisy background (class 0)
void squares(pml::Rng& rng, Index n, Index size, Eigen::MatrixXd& x, Eigen::MatrixXd& masks) {
  x.resize(n, size * size);
  masks = Eigen::MatrixXd::Zero(n, size * size);
  pml::random::fill_normal(rng, x);
  x = (0.3 + 0.12 * x.array()).matrix();
  for (Index i = 0; i < n; ++i) {
    const Index side = 4 + static_cast<Index>(pml::random::uniform_index(rng, 5));
    const Index r0 = static_cast<Index>(pml::random::uniform_index(rng, static_cast<std::uint64_t>(size - side + 1)));
    const Index c0 = static_cast<Index>(pml::random::uniform_index(rng, static_cast<std::uint64_t>(size - side + 1)));
    for (Index r = r0; r < r0 + side; ++r)
      for (Index c = c0; c < c0 + side; ++c) {
        x(i, r * size + c) += 0.35;
        masks(i, r * size + c) = 1;
      }
  }
}
// whether pixel (r, c) of a mask lies within 1 pixel of a pixel of the other class
bool near_boundary(const Eigen::MatrixXd& masks, Index i, Index size, Index r, Index c) {
  for (Index dr = -1; dr <= 1; ++dr)
    for (Index dc = -1; dc <= 1; ++dc) {
      const Index rr = r + dr, cc = c + dc;
      if (rr >= 0 && rr < size && cc >= 0 && cc < size && masks(i, rr * size + cc) != masks(i, r * size + c)) return true;
    }
  return false;
}
}  // namespace

TEST_CASE("BayesianSegNet: the loss's gradient through pooling indices, unpooling and batch norms", "[deep][segnet][gradcheck]") {
  pml::Rng rng(1);
  pml::BayesianSegNet<double> net({.height = 4, .width = 4, .classes = 3, .features = {2, 3}, .dropout = 0.3, .weight_decay = 0}, rng);
  Eigen::MatrixXd x(3, 16);
  pml::random::fill_normal(rng, x);
  pml::ad::Tape<double> tape;
  const Eigen::MatrixXd w = Eigen::MatrixXd::Random(3, 48);
  auto loss = [&] {
    pml::Rng fixed(2);
    tape.reset();
    return pml::ad::sum(net.logits(tape, tape.constant(x), fixed, true) * tape.constant(w));
  };
  CHECK(pml::nn::parameter_gradcheck(net.parameters(), tape, loss) < 1e-6);
}

TEST_CASE("BayesianSegNet: segments squares on noise; the uncertainty is higher on the boundaries", "[deep][segnet][quality]") {
  pml::Rng rng(3);
  Eigen::MatrixXd x, masks, xt, mt;
  squares(rng, 384, 16, x, masks);
  squares(rng, 32, 16, xt, mt);
  pml::BayesianSegNet<double> net({.height = 16, .width = 16, .classes = 2, .features = {8, 16}, .dropout = 0.5}, rng);
  net.fit(x, masks, {.epochs = 12, .batch_size = 32, .learning_rate = 3e-3}, rng);
  REQUIRE(net.loss_history().size() == 12);
  CHECK(net.loss_history().back() < 0.5 * net.loss_history().front());
  pml::Rng eval(4);
  const auto p = net.predict(xt, 20, eval);
  double correct = 0, boundary = 0, interior = 0;
  Index nb = 0, ni = 0;
  for (Index i = 0; i < xt.rows(); ++i)
    for (Index r = 0; r < 16; ++r)
      for (Index c = 0; c < 16; ++c) {
        const Index j = r * 16 + c;
        correct += double(p.labels(i, j) == static_cast<Index>(mt(i, j)));
        if (near_boundary(mt, i, 16, r, c)) {
          boundary += p.entropy(i, j);
          ++nb;
        } else {
          interior += p.entropy(i, j);
          ++ni;
        }
      }
  const double accuracy = correct / double(xt.rows() * 256);
  INFO("pixel accuracy " << accuracy << "; mean entropy within 1 pixel of a boundary " << boundary / double(nb) << ", elsewhere " << interior / double(ni));
  CHECK(accuracy > 0.9);
  CHECK(boundary / double(nb) > 1.5 * interior / double(ni));
  CHECK((p.mutual_information.array() >= 0).all());
  CHECK((p.mutual_information.array() <= p.entropy.array() + 1e-12).all());
  // the probabilities of each pixel sum to 1
  CHECK(((p.proba.leftCols(256) + p.proba.rightCols(256)).array() - 1).abs().maxCoeff() < 1e-12);
}

TEST_CASE("BayesianSegNet: the same passes for any thread count; save and load bit for bit", "[deep][segnet][io]") {
  pml::Rng rng(5);
  Eigen::MatrixXd x, masks;
  squares(rng, 24, 8, x, masks);
  pml::BayesianSegNet<float> net({.height = 8, .width = 8, .features = {4}}, rng);
  net.fit(x.cast<float>(), masks, {.epochs = 2, .batch_size = 8}, rng);
  pml::set_num_threads(1);
  pml::Rng a(6);
  const auto one = net.sample_proba(x.cast<float>(), 5, a);
  pml::set_num_threads(3);
  pml::Rng b(6);
  const auto three = net.sample_proba(x.cast<float>(), 5, b);
  pml::set_num_threads(0);
  for (std::size_t t = 0; t < one.size(); ++t) CHECK((one[t] - three[t]).cwiseAbs().maxCoeff() == 0.0f);
  for (const auto format : {pml::nn::FileFormat::binary, pml::nn::FileFormat::json}) {
    const auto path = std::filesystem::temp_directory_path() / "pml_segnet.pml";
    net.save(path, format);
    const auto loaded = pml::BayesianSegNet<float>::load(path);
    pml::Rng c(7), d(7);
    CHECK((net.predict(x.cast<float>(), 3, c).proba - loaded.predict(x.cast<float>(), 3, d).proba).cwiseAbs().maxCoeff() == 0.0f);
    CHECK((net.predict_proba(x.cast<float>()) - loaded.predict_proba(x.cast<float>())).cwiseAbs().maxCoeff() == 0.0f);
    std::filesystem::remove(path);
  }
}

TEST_CASE("BayesianSegNet errors name the function, the argument and the value", "[deep][segnet][errors]") {
  pml::Rng rng(8);
  CHECK_THROWS_WITH(pml::BayesianSegNet<double>({.height = 6, .width = 8, .features = {4, 4}}, rng), Contains("BayesianSegNet") && Contains("multiples of 2^2"));
  CHECK_THROWS_WITH(pml::BayesianSegNet<double>({.classes = 1}, rng), Contains("classes at least 2"));
  CHECK_THROWS_WITH(pml::BayesianSegNet<double>({.dropout = 1.0}, rng), Contains("dropout"));
  pml::BayesianSegNet<double> net({.height = 8, .width = 8, .features = {4}}, rng);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(4, 64), masks = Eigen::MatrixXd::Zero(4, 64);
  masks(2, 5) = 2;
  CHECK_THROWS_WITH(net.fit(x, masks, {}, rng), Contains("BayesianSegNet::fit") && Contains("masks") && Contains("row 3, pixel 6"));
  CHECK_THROWS_WITH(net.fit(x, Eigen::MatrixXd::Zero(4, 63), {}, rng), Contains("masks has 63 columns"));
  CHECK_THROWS_WITH(net.predict(Eigen::MatrixXd::Zero(2, 60), 3, rng), Contains("BayesianSegNet::sample_proba") && Contains("60 columns"));
  CHECK_THROWS_WITH(net.predict(x, 0, rng), Contains("samples"));
  CHECK_THROWS_WITH(net.fit(x.topRows(1), masks.topRows(1), {}, rng), Contains("BayesianSegNet::fit") && Contains("1 row"));
}

TEST_CASE("BayesianSegNet: an image left over from the minibatches trains with the last one", "[deep][segnet]") {
  // identical images, no dropout, a negligible step: every image's cross-entropy is the same, so the mean per
  // image must not depend on how the images fall into batches of 2 (with 5, the fifth joins the last batch
  // instead of being skipped while still counted)
  Eigen::MatrixXd x(5, 64), masks = Eigen::MatrixXd::Zero(5, 64);
  for (Eigen::Index j = 0; j < 64; ++j) x.col(j).setConstant(0.1 + 0.8 * double(j % 8 == 3));
  masks.col(3).setOnes();
  auto mean_loss = [&](Eigen::Index n) {
    pml::Rng rng(5);
    pml::BayesianSegNet<double> net({.height = 8, .width = 8, .features = {4}, .dropout = 0}, rng);
    net.fit(x.topRows(n), masks.topRows(n), {.epochs = 1, .batch_size = 2, .learning_rate = 1e-12}, rng);
    return double(net.loss_history()[0]);
  };
  const double four = mean_loss(4), five = mean_loss(5), three = mean_loss(3);
  CHECK(five == Approx(four).epsilon(1e-9));
  CHECK(three == Approx(four).epsilon(1e-9));
}
