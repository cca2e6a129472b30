// pml: the command-line tool. Fit a model to a CSV file, save it, predict and sample from it without
// writing C++. Every failure is one line on standard error and a non-zero exit code (1: the operation
// failed, 2: the command line is wrong). Every command has --help with an example.
//
// The commands are declared in tools/cli/, one file per model family (cluster.cpp: gmm, kmeans, vgmm;
// latent.cpp: pca, ppca; linear.cpp: blr; deep.cpp: mcdropout, vae); tools/cli/common.* makes the
// declarations into the parser (CLI11) and the help, and holds what the families share.
//
// Built with MPI (the pml::mpi target), the fits also run under mpirun: `mpirun -np 4 pml gmm fit big.csv
// --components 16 -o model.pml` reads a quarter of the rows on each rank and saves on rank 0.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <optional>
#include <stdio_ext.h>

#include "cli/common.hpp"

#if defined(PML_CLI_MPI)
#include <pml/mpi.hpp>

namespace {
// Whether mpirun (Open MPI, or a PMI/PMIx launcher) started this process: only then is MPI initialised, so a
// plain `pml ...` never starts MPI.
bool launched_by_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK"); }
}  // namespace
#endif

int main(int argc, char** argv) {
#if defined(PML_CLI_MPI)
  // under mpirun the sharded commands (the fits) run on the ranks of MPI_COMM_WORLD (issue 18, docs/scaling.md)
  std::optional<pml::mpi::Environment> mpi;
  std::optional<pml::mpi::Communicator> world;
  if (launched_by_mpirun()) {
    try {
      mpi.emplace(argc, argv);
      world.emplace();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pml: %s\n", e.what());
      return 1;
    }
    pml::cli::set_ranks(&*world);
  }
#endif
  pml::cli::Tool tool;
  pml::cli::add_cluster_commands(tool);
  pml::cli::add_latent_commands(tool);
  pml::cli::add_linear_commands(tool);
  pml::cli::add_deep_commands(tool);
  pml::cli::add_gaussian_process_commands(tool);
  pml::cli::add_sequence_commands(tool);
  const int code = tool.run(argc, argv);
  // Standard output is checked to the end (`pml ... > /dev/full` fails): an error seen before, or a
  // failing close with bytes still pending (a closed stdout with nothing written is not an error).
  const bool pending = __fpending(stdout) != 0, failed_before = std::ferror(stdout) != 0;
  if (std::fclose(stdout) != 0 || failed_before) {
    const int e = errno;
    if (code == 0 && (failed_before || pending || e != EBADF)) {
      std::fprintf(stderr, "%s: cannot write to standard output: %s\n", tool.where().c_str(), std::strerror(e));
      return 1;
    }
  }
  return code;
}
