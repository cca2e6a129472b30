#!/usr/bin/env bash
# Wall time of each translation unit of the CI build (the `ci` preset), slowest first: where CI's build
# minutes go (docs/testing-and-ci.md, "CI time"). Builds into build/compile-times with a compiler launcher
# that records each compile; run it on an otherwise idle machine.
#   bash cmake/compile-times.sh [preset]     # default: ci
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset=${1:-ci}
out="$PWD/build/compile-times"
mkdir -p "$out"
launcher="$out/launch.sh"
cat > "$launcher" <<'LAUNCH'
#!/usr/bin/env bash
start=$(date +%s.%N)
"$@"; rc=$?
end=$(date +%s.%N)
object=""; previous=""
for a in "$@"; do [ "$previous" = "-o" ] && object=$a; previous=$a; done
echo "$(echo "$end - $start" | bc) $object" >> "$(dirname "${BASH_SOURCE[0]}")/times.txt"
exit $rc
LAUNCH
chmod +x "$launcher"
rm -f "$out/times.txt"
cmake --preset "$preset" -B "$out/build" -DCMAKE_CXX_COMPILER_LAUNCHER="$launcher" > /dev/null
start=$(date +%s)
cmake --build "$out/build" -j2 > "$out/build.log"
echo "build: $(( $(date +%s) - start )) s wall; compile seconds summed: $(awk '{s += $1} END {printf "%.0f", s}' "$out/times.txt")"
sort -rn "$out/times.txt" | awk '{printf "%7.1f s  %s\n", $1, $2}'
