#!/usr/bin/env bash
# The default model against BG/NBD on the thirty-four CDNOW_master splits of EVALUATION.md, each with
# `trustledger evaluate forecast --compare bgnbd`: per metric the default model's advantage, its
# 95 % paired-bootstrap interval and the share of resamples it wins, one line per split.
# Usage: bash bench/forecast/compare_splits.sh   (from the repository root or anywhere)
# Env: BOOTSTRAP (resamples, default 2000), OUT (directory for the JSON reports, default a temp
# dir), CARGO_TARGET_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="$root/../shared/data/cdnow/CDNOW_master.txt"
[ -f "$data" ] || { echo "missing $data (see shared/data/README.md)" >&2; exit 1; }
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release -q -p trustledger)
bin="$target/release/trustledger"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
resamples="${BOOTSTRAP:-2000}"
splits=(
  1997-04-01:1997-09-01 1997-04-30:1997-10-31 1997-05-15:1997-12-31 1997-06-01:1997-11-01
  1997-06-15:1998-06-30 1997-07-01:1997-12-30 1997-07-15:1998-01-31 1997-07-31:1998-06-30
  1997-08-01:1997-12-31 1997-08-15:1998-03-31 1997-09-10:1998-05-15 1997-09-30:1998-03-31
  1997-09-30:1998-06-30 1997-10-15:1998-04-30 1997-10-31:1998-06-30 1997-11-15:1998-06-30
  1997-12-01:1998-06-30 1997-12-15:1998-06-30 1997-12-30:1998-06-30 1998-01-15:1998-06-30
  # the six splits written down on 2026-12-06 before they were first run
  1997-03-15:1997-09-15 1997-05-31:1997-12-15 1997-07-05:1998-02-28 1997-08-31:1998-06-30
  1997-11-30:1998-05-31 1998-02-15:1998-06-30
  # the eight written down on 2026-12-07 before they were first run
  1997-04-15:1997-10-15 1997-06-22:1997-12-22 1997-07-25:1998-03-25 1997-09-20:1998-04-20
  1997-10-25:1998-06-30 1997-12-22:1998-06-30 1998-01-31:1998-06-30 1998-03-10:1998-06-30
)
echo "default against bgnbd, $resamples paired bootstrap resamples; advantage [95 % interval] share of resamples won"
for s in "${splits[@]}"; do
  cal="${s%:*}"; hold="${s#*:}"
  json="$out/compare_${cal}_${hold}.json"
  "$bin" evaluate forecast --transactions "$data" --calibration-end "$cal" --holdout-end "$hold" \
    --model default --compare bgnbd --bootstrap "$resamples" --json 2>/dev/null > "$json"
  python3 - "$json" "$cal" "$hold" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cells = [
    "%s %+.4f [%+.4f, %+.4f] %3.0f%%" % (m["metric"], m["advantage"], m["low"], m["high"], 100 * m["a_better_share"])
    for m in r["comparison"]["metrics"]
]
print(sys.argv[2], sys.argv[3], " | ".join(cells))
PY
done
echo "JSON reports: $out"
