#!/usr/bin/python3
"""Normal sampling throughput: pml::random::fill_normal vs std::mt19937_64 + std::normal_distribution,
both in one run of build/dev/benchmarks/bench_random (5 repetitions, medians compared).

  /usr/bin/python3 benchmarks/compare/normal_sampler.py [--build build/dev]
"""
import argparse
import json
import os
import subprocess

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "dev"))
args = parser.parse_args()
exe = os.path.join(args.build, "benchmarks", "bench_random")
out = subprocess.run([exe, "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true",
                      "--benchmark_format=json", "--benchmark_min_time=0.3"], capture_output=True, text=True, check=True)
rows = {b["name"]: b for b in json.loads(out.stdout)["benchmarks"] if b.get("aggregate_name") == "median"}
for n in (1 << 10, 1 << 16, 1 << 20):
    ours = rows[f"BM_pml_fill_normal/{n}_median"]["items_per_second"]
    peer = rows[f"BM_std_mt19937_64_normal_distribution/{n}_median"]["items_per_second"]
    print(f"n = {n:8d}: pml {ours / 1e6:7.1f} M/s, std::mt19937_64 + normal_distribution {peer / 1e6:6.1f} M/s, "
          f"ratio {ours / peer:.1f}x")
