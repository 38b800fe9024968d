#!/usr/bin/env bash
# The default model against BG/NBD on the thirty-four CDNOW_master splits of EVALUATION.md, each with
# `trustledger evaluate forecast --compare bgnbd`: per metric the default model's advantage, its
# 95 % paired-bootstrap interval and the share of resamples it wins, one line per split.
# Usage: bash bench/forecast/compare_splits.sh   (from the repository root or anywhere)
# Env: BOOTSTRAP (resamples, default 2000), OUT (directory for the JSON reports, default a temp
# dir), CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cdnow.sh"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
resamples="${BOOTSTRAP:-2000}"
echo "default against bgnbd, $resamples paired bootstrap resamples; advantage [95 % interval] share of resamples won"
for s in "${cdnow_splits[@]}"; do
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
