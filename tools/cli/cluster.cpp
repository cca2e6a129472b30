// pml gmm, pml kmeans, pml vgmm: the mixture and clustering commands.
#include <cstdio>
#include <string>

#include <pml/models/cluster.hpp>

#include "common.hpp"

namespace pml::cli {
namespace {

void add_gmm(Tool& tool) {
  Family& gmm = tool.family("gmm", "Gaussian mixture models fitted by EM");
  {
    Command& c = gmm.command("fit", "fit a mixture by EM and save it",
                             "Fits a Gaussian mixture to the rows of DATA.csv by EM (k-means start) and saves it to MODEL.",
                             "pml gmm fit data.csv --components 3 --covariance diagonal --seed 7 -o model.pml");
    c.sharded();
    const auto data = c.input("DATA.csv", "the data, one sample per row");
    const auto model = c.model_output();
    const auto components = c.integer<Eigen::Index>("--components", "K", "number of components", 1, 1);
    const auto covariance = c.choice("--covariance", "TYPE", "the components' covariance", Covariance::full);
    const auto iterations = c.integer("--max-iterations", "N", "EM iterations per start", 100, 1);
    const auto restarts = c.integer("--restarts", "R", "independent starts; the best log-likelihood wins", 1, 1);
    const auto seed = c.seed("random seed: the same seed gives the same model");
    const auto csv = c.csv();
    c.action([=] {
      GaussianMixtureOptions<double> o;
      o.components = *components;
      o.covariance = *covariance;
      o.max_iterations = *iterations;
      o.restarts = *restarts;
      Eigen::Index n = 0;
      const Eigen::MatrixXd x = read_shard(*data, *csv, n);
      GaussianMixture<double> m(o);
      m.fit(ranks(), x, *seed);
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "fitted a %ld-component %s Gaussian mixture to %ld x %ld data: mean log-likelihood %.6g, %d iterations%s; saved %s\n",
                   long(o.components), std::string(enum_name(o.covariance)).c_str(), long(n), long(x.cols()), double(m.lower_bound()),
                   m.iterations(), m.converged() ? "" : " (not converged)", model->c_str());
    });
  }
  {
    Command& c = gmm.command("predict", "label each row (--proba: every posterior probability)",
                             "Writes the most probable component of each row (column \"label\"), or with --proba the posterior probability "
                             "of every component (columns p0, p1, ...).",
                             "pml gmm predict model.pml data.csv --proba -o responsibilities.csv");
    const auto model = c.input("MODEL", "a model saved by pml gmm fit");
    const auto data = c.input("DATA.csv", "the rows to label");
    const auto proba = c.flag("--proba", "write the posterior probability of every component instead of the label");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = GaussianMixture<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.means().cols());
      if (*proba) emit(*out, m.predict_proba(x), names("p", m.options().components));
      else emit(*out, m.predict(x).cast<double>(), {"label"});
    });
  }
  {
    Command& c = gmm.command("score", "the log-density of each row", "Writes the log-density log p(x) of each row under the mixture (column \"log_likelihood\").",
                             "pml gmm score model.pml new_data.csv");
    const auto model = c.input("MODEL", "a model saved by pml gmm fit");
    const auto data = c.input("DATA.csv", "the rows to score");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = GaussianMixture<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.means().cols());
      emit(*out, m.score_samples(x), {"log_likelihood"});
    });
  }
  {
    Command& c = gmm.command("sample", "draw samples from the mixture", "Draws N samples from the mixture: columns x0, x1, ... and the component \"label\".",
                             "pml gmm sample model.pml -n 1000 --seed 3 -o samples.csv");
    const auto model = c.input("MODEL", "a model saved by pml gmm fit");
    const auto n = c.count("-n", "N", "how many samples");
    const auto seed = c.seed();
    const auto out = c.csv_output();
    c.action([=] {
      const auto m = GaussianMixture<double>::load(*model);
      Rng rng(*seed);
      const auto [x, labels] = m.sample(rng, row_count(*n, "-n", m.means().cols() + 1));
      Eigen::MatrixXd table(x.rows(), x.cols() + 1);
      table << x, labels.cast<double>();
      std::vector<std::string> columns = names("x", x.cols());
      columns.push_back("label");
      emit(*out, table, columns);
    });
  }
}

void add_kmeans(Tool& tool) {
  Family& kmeans = tool.family("kmeans", "k-means clustering (k-means++ or k-means|| seeds, Lloyd iterations)");
  {
    Command& c = kmeans.command("fit", "fit the centres and save them",
                                "Fits k-means (k-means++ or k-means|| seeds, Lloyd iterations) to the rows of DATA.csv and saves the centres.",
                                "pml kmeans fit data.csv --clusters 4 --restarts 5 -o centres.pml");
    c.sharded();
    const auto data = c.input("DATA.csv", "the data, one sample per row");
    const auto model = c.model_output();
    const auto clusters = c.integer<Eigen::Index>("--clusters", "K", "number of clusters", 8, 1);
    const auto restarts = c.integer("--restarts", "R", "independent starts; the lowest inertia wins", 1, 1);
    const auto iterations = c.integer("--max-iterations", "N", "Lloyd iterations per start", 300, 1);
    const auto init = c.choice("--init", "SEEDING", "the seeding (quote k-means|| for the shell)", KMeansInit::k_means_plus_plus);
    const auto init_steps = c.integer("--init-steps", "S", "k-means|| passes", 2, 1);
    const auto seed = c.seed();
    const auto csv = c.csv();
    c.action([=] {
      KMeansOptions<double> o;
      o.clusters = *clusters;
      o.restarts = *restarts;
      o.max_iterations = *iterations;
      o.init = *init;
      o.init_steps = *init_steps;
      Eigen::Index n = 0;
      const Eigen::MatrixXd x = read_shard(*data, *csv, n);
      KMeans<double> m(o);
      m.fit(ranks(), x, *seed);
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "fitted k-means with %ld clusters to %ld x %ld data: inertia %.6g, %d iterations; saved %s\n", long(o.clusters), long(n),
                   long(x.cols()), double(m.inertia()), m.iterations(), model->c_str());
    });
  }
  {
    Command& c = kmeans.command("predict", "the nearest centre of each row", "Writes the nearest centre of each row (column \"label\").",
                                "pml kmeans predict centres.pml data.csv > labels.csv");
    const auto model = c.input("MODEL", "a model saved by pml kmeans fit");
    const auto data = c.input("DATA.csv", "the rows to label");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = KMeans<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.centres().cols());
      emit(*out, m.predict(x).cast<double>(), {"label"});
    });
  }
}

void add_vgmm(Tool& tool) {
  Family& vgmm = tool.family("vgmm", "variational Bayesian Gaussian mixture (PRML 10.2)");
  {
    Command& c = vgmm.command("fit", "fit a mixture whose surplus components switch off",
                              "Fits a variational Gaussian mixture with K components to the rows of DATA.csv. With a small weight concentration "
                              "the components the data do not need switch off (their expected weight goes to 0), so K is an upper bound "
                              "rather than a choice.",
                              "pml vgmm fit data.csv --components 10 --concentration 0.001 -o vgmm.pml");
    c.sharded();
    const auto data = c.input("DATA.csv", "the data, one sample per row");
    const auto model = c.model_output();
    // a Dirichlet weight prior needs two components
    const auto components = c.integer<Eigen::Index>("--components", "K", "upper bound on the number of components", 10, 2);
    const auto prior = c.choice("--weight-prior", "P", "prior on the weights (a symmetric Dirichlet, or a stick-breaking Dirichlet process)",
                                WeightPrior::dirichlet_distribution);
    const auto concentration =
        c.optional_real("--concentration", "A", "weight concentration alpha0; small values switch more components off", "1/K", kPositive);
    const auto iterations = c.integer("--max-iterations", "N", "coordinate-ascent iterations", 100, 1);
    const auto seed = c.seed("random seed of the k-means start");
    const auto csv = c.csv();
    c.action([=] {
      VariationalGaussianMixtureOptions<double> o;
      o.components = *components;
      o.weight_prior = *prior;
      o.weight_concentration = concentration->value_or(0.0);  // 0: the model's 1/K
      o.max_iterations = *iterations;
      Eigen::Index n = 0;
      const Eigen::MatrixXd x = read_shard(*data, *csv, n);
      VariationalGaussianMixture<double> m(o);
      m.fit(ranks(), x, *seed);
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr,
                   "fitted a variational Gaussian mixture (up to %ld components, %ld in use) to %ld x %ld data: ELBO %.6g per row, %d iterations%s; saved %s\n",
                   long(o.components), long(m.effective_components()), long(n), long(x.cols()), double(m.lower_bound()), m.iterations(),
                   m.converged() ? "" : " (not converged)", model->c_str());
    });
  }
  {
    Command& c = vgmm.command("predict", "label each row (--proba: every responsibility)",
                              "Writes the most probable component of each row (column \"label\"), or with --proba the variational "
                              "responsibility of every component (columns p0, p1, ...).",
                              "pml vgmm predict vgmm.pml data.csv");
    const auto model = c.input("MODEL", "a model saved by pml vgmm fit");
    const auto data = c.input("DATA.csv", "the rows to label");
    const auto proba = c.flag("--proba", "write the responsibility of every component instead of the label");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = VariationalGaussianMixture<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.means().cols());
      if (*proba) emit(*out, m.predict_proba(x), names("p", m.options().components));
      else emit(*out, m.predict(x).cast<double>(), {"label"});
    });
  }
  {
    Command& c = vgmm.command("components", "the expected weight and mean of each component",
                              "Writes one row per component: its expected weight E[pi_k] and posterior mean (columns weight, mean0, mean1, ...). "
                              "Components with weight near 0 were switched off.",
                              "pml vgmm components vgmm.pml");
    const auto model = c.input("MODEL", "a model saved by pml vgmm fit");
    const auto out = c.csv_output();
    c.action([=] {
      const auto m = VariationalGaussianMixture<double>::load(*model);
      Eigen::MatrixXd table(m.means().rows(), m.means().cols() + 1);
      table << m.weights(), m.means();
      std::vector<std::string> columns{"weight"}, means = names("mean", m.means().cols());
      columns.insert(columns.end(), means.begin(), means.end());
      emit(*out, table, columns);
    });
  }
}

}  // namespace

void add_cluster_commands(Tool& tool) {
  add_gmm(tool);
  add_kmeans(tool);
  add_vgmm(tool);
}

}  // namespace pml::cli
