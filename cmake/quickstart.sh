#!/usr/bin/env bash
# The two quick-start commands of the README:
#   bash cmake/quickstart.sh tour   # build and run the bundled examples' tour
#   bash cmake/quickstart.sh test   # build and run every test executable, then again under ASan+UBSan
# Installs the Debian packages that are missing (needs root or sudo), then runs CMake workflow presets.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(cmake g++ make libeigen3-dev libboost-dev nlohmann-json3-dev zlib1g-dev libpng-dev libcli11-dev liblbfgspp-dev catch2 libbenchmark-dev dataset-fashion-mnist doxygen)
# the test workflow's ASan + UBSan build runs on Clang (its OpenMP test on LLVM's libomp)
[ "${1:-}" = test ] && packages+=(clang libomp-dev)
# the sharded fits' tests run under mpirun (pml::mpi, issue 18)
[ "${1:-}" = test ] && packages+=(openmpi-bin libopenmpi-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "quickstart: installing missing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

case "${1:-}" in
  tour) cmake --workflow --preset tour ;;
  test) cmake --workflow --preset test && cmake --workflow --preset test-asan ;;
  *) echo "usage: bash cmake/quickstart.sh tour|test" >&2; exit 2 ;;
esac
