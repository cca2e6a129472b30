// pml pca, pml ppca: the latent-variable commands.
#include <cstdio>
#include <string>

#include <pml/models/latent.hpp>

#include "common.hpp"

namespace pml::cli {
namespace {

void add_pca(Tool& tool) {
  Family& pca = tool.family("pca", "principal component analysis");
  {
    Command& c = pca.command("fit", "find the leading principal components and save them",
                             "Finds the M leading principal components of the rows of DATA.csv and saves them to MODEL.",
                             "pml pca fit data.csv --components 2 -o pca.pml");
    c.sharded();
    const auto data = c.input("DATA.csv", "the data, one sample per row");
    const auto model = c.model_output();
    const auto components = c.integer<Eigen::Index>("--components", "M", "number of components to keep; 0 keeps all", 0, 0);
    const auto whiten = c.flag("--whiten", "scale the projections to unit variance");
    const auto csv = c.csv();
    c.action([=] {
      PCA<double> m({.components = *components, .whiten = *whiten});
      Eigen::Index n = 0;
      const Eigen::MatrixXd x = read_shard(*data, *csv, n);
      m.fit(ranks(), x);
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "fitted PCA with %ld components to %ld x %ld data; saved %s\n", long(m.components().cols()), long(n), long(x.cols()),
                   model->c_str());
    });
  }
  {
    Command& c = pca.command("transform", "project rows onto the components", "Writes the projections of the rows onto the components (columns z0, z1, ...).",
                             "pml pca transform pca.pml data.csv > projections.csv");
    const auto model = c.input("MODEL", "a model saved by pml pca fit");
    const auto data = c.input("DATA.csv", "the rows to project");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = PCA<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.components().rows());
      emit(*out, m.transform(x), names("z", m.components().cols()));
    });
  }
  {
    Command& c = pca.command("inverse", "map projections back to data space", "Maps projections back to data space (columns x0, x1, ...).",
                             "pml pca inverse pca.pml projections.csv -o reconstructed.csv");
    const auto model = c.input("MODEL", "a model saved by pml pca fit");
    const auto codes = c.input("CODES.csv", "projections, one row per sample (as pml pca transform writes them)");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = PCA<double>::load(*model);
      const Eigen::MatrixXd z = read_data(*codes, *csv, m.components().cols());
      emit(*out, m.inverse_transform(z), names("x", m.components().rows()));
    });
  }
}

void add_ppca(Tool& tool) {
  Family& ppca = tool.family("ppca", "probabilistic PCA (Tipping & Bishop 1999)");
  {
    Command& c = ppca.command("fit", "fit probabilistic PCA and save it", "Fits probabilistic PCA by maximum likelihood: the closed form or EM.",
                              "pml ppca fit data.csv --components 2 --solver em -o ppca.pml");
    c.sharded();
    const auto data = c.input("DATA.csv", "the data, one sample per row");
    const auto model = c.model_output();
    const auto components = c.integer<Eigen::Index>("--components", "M", "latent dimension, less than the data's width", 1, 1);
    const auto solver = c.choice("--solver", "NAME", "the maximum-likelihood solver", PPCASolver::closed_form);
    const auto seed = c.seed("random seed of EM's start");
    const auto csv = c.csv();
    c.action([=] {
      ProbabilisticPCA<double> m({.components = *components, .solver = *solver});
      Eigen::Index n = 0;
      const Eigen::MatrixXd x = read_shard(*data, *csv, n);
      m.fit(ranks(), x, *seed);
      if (!lead()) return;
      m.save(*model);
      std::fprintf(stderr, "fitted probabilistic PCA (%ld components, noise variance %.6g) to %ld x %ld data; saved %s\n", long(m.loadings().cols()),
                   double(m.noise_variance()), long(n), long(x.cols()), model->c_str());
    });
  }
  {
    Command& c = ppca.command("transform", "the posterior mean of the latent variables", "Writes the posterior mean E[z|x] of each row (columns z0, z1, ...).",
                              "pml ppca transform ppca.pml data.csv");
    const auto model = c.input("MODEL", "a model saved by pml ppca fit");
    const auto data = c.input("DATA.csv", "the rows to project");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = ProbabilisticPCA<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.mean().size());
      emit(*out, m.transform(x), names("z", m.loadings().cols()));
    });
  }
  {
    Command& c = ppca.command("score", "the log-density of each row", "Writes log p(x) of each row under the model (column \"log_likelihood\").",
                              "pml ppca score ppca.pml new_data.csv");
    const auto model = c.input("MODEL", "a model saved by pml ppca fit");
    const auto data = c.input("DATA.csv", "the rows to score");
    const auto out = c.csv_output();
    const auto csv = c.csv();
    c.action([=] {
      const auto m = ProbabilisticPCA<double>::load(*model);
      const Eigen::MatrixXd x = read_data(*data, *csv, m.mean().size());
      emit(*out, m.score_samples(x), {"log_likelihood"});
    });
  }
  {
    Command& c = ppca.command("sample", "draw rows from the model", "Draws N rows from the model (columns x0, x1, ...).", "pml ppca sample ppca.pml -n 500 --seed 1");
    const auto model = c.input("MODEL", "a model saved by pml ppca fit");
    const auto n = c.count("-n", "N", "how many samples");
    const auto seed = c.seed();
    const auto out = c.csv_output();
    c.action([=] {
      const auto m = ProbabilisticPCA<double>::load(*model);
      Rng rng(*seed);
      emit(*out, m.sample(rng, row_count(*n, "-n", m.mean().size())), names("x", m.mean().size()));
    });
  }
}

}  // namespace

void add_latent_commands(Tool& tool) {
  add_pca(tool);
  add_ppca(tool);
}

}  // namespace pml::cli
