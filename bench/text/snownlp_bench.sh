#!/usr/bin/env bash
# Sentiment: TrustLedger's model vs SnowNLP's Bayes classifier retrained on the SAME training lines,
# both scored on the same held-out 20 % of shared/data/reviews-zh (written by the TrustLedger project).
#
# Usage: bench/text/snownlp_bench.sh        (from anywhere; needs python3 with venv, and network
#                                            access to PyPI the first time, to install snownlp)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CRATE="$ROOT/crates/text"
WORK="${TMPDIR:-/tmp}/trustledger-snownlp-bench"
VENV="${SNOWNLP_VENV:-$WORK/venv}"
mkdir -p "$WORK"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-text}"

echo "== ours: retrain on the fixed-seed split, export the split, measure held-out =="
# The model goes to a temp file: this never touches the committed models/sentiment.bin.
OURS="$(cd "$CRATE" && cargo run --quiet --release --example train_sentiment -- \
    --out "$WORK/sentiment.bin" --export-split "$WORK/split")"
echo "$OURS"
if ! cmp -s "$WORK/sentiment.bin" "$CRATE/models/sentiment.bin"; then
    echo "warning: retrained model differs from the committed models/sentiment.bin" >&2
fi
OURS_JSON="$(echo "$OURS" | sed -n 's/^RESULT //p')"

echo "== SnowNLP: venv, install, retrain on the same training lines =="
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check snownlp
SNOW_JSON="$("$VENV/bin/python" "$ROOT/bench/text/snownlp_bench.py" "$WORK/split")"

python3 - "$OURS_JSON" "$SNOW_JSON" <<'PY'
import json, sys
ours, snow = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert ours["train"] == snow["train"] and ours["test"] == snow["test"], "split mismatch"
print(f"\ntrain lines {ours['train']}, held-out lines {ours['test']} (same lines for both)")
print(f"{'':22}{'accuracy':>10}{'AUC':>8}{'sentences/s':>14}")
print(f"{'TrustLedger (ours)':22}{ours['accuracy']:>10.4f}{ours['auc']:>8.4f}{ours['sentences_per_sec']:>14,.0f}")
print(f"{'SnowNLP Bayes':22}{snow['accuracy']:>10.4f}{snow['auc']:>8.4f}{snow['sentences_per_sec']:>14,.1f}")
PY
