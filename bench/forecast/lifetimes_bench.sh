#!/usr/bin/env bash
# Times the BG/NBD fit of trustledger-forecast against the Python `lifetimes` BetaGeoFitter on
# the same CDNOW_master standard-split summary (23,570 customers), in the same run.
# Usage: bash bench/forecast/lifetimes_bench.sh   (from the repository root or anywhere)
# Env: VENV (default: bench/forecast/.venv), REPEATS (default 5), CARGO_TARGET_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
crate="$root/crates/forecast"
venv="${VENV:-$here/.venv}"
repeats="${REPEATS:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-forecast}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q 'lifetimes==0.11.3' 'pandas<3'

summary="$(mktemp --suffix=.csv)"
trap 'rm -f "$summary"' EXIT

echo "== trustledger-forecast (Rust, release) =="
rust_line="$(cd "$crate" && nice -n 10 cargo run -q --release --example fit_timing -- "$summary")"
echo "$rust_line"
rust_s="$(echo "$rust_line" | sed -E 's/.*rust_fit_seconds_median=([0-9.eE+-]+).*/\1/')"

echo "== lifetimes 0.11.3 (Python) =="
py_s="$("$venv/bin/python" - "$summary" "$repeats" <<'PY'
import sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
import lifetimes
from lifetimes import BetaGeoFitter
df = pd.read_csv(sys.argv[1])
reps = int(sys.argv[2])
times = []
for _ in range(reps):
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    t0 = time.perf_counter()
    bgf.fit(df["frequency"], df["recency"], df["T"])
    times.append(time.perf_counter() - t0)
times.sort()
p = bgf.params_
print(f"lifetimes {lifetimes.__version__} pandas {pd.__version__} customers={len(df)} "
      f"r={p['r']:.4f} alpha={p['alpha']:.4f} a={p['a']:.4f} b={p['b']:.4f} "
      f"fit_seconds_median={times[len(times)//2]:.4f} (of {reps})", file=sys.stderr)
print(f"{times[len(times)//2]:.6f}")
PY
)"
python3 - "$rust_s" "$py_s" <<'PY'
import sys
r, p = float(sys.argv[1]), float(sys.argv[2])
print(f"RESULT rust_fit_ms={r*1e3:.2f} lifetimes_fit_ms={p*1e3:.1f} speedup={p/r:.0f}x")
PY
