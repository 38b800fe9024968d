#!/usr/bin/env bash
# The trust index on real purchases: CDNOW_master's 69,659 purchases imported into a ledger as
# `order.placed` events (through the ordinary `trustledger import` of the documented event CSV),
# then, at each of the thirty-four splits of EVALUATION.md, `trustledger evaluate trust` (the AUC
# of the index and of C, R, I and S at the calibration end for "buys again" in the holdout),
# beside the AUC of BG/NBD's and the default model's expected purchases on the same split
# (`evaluate forecast --transactions`, the same customers and the same window); then, over the
# customers who bought again, the Spearman correlation of the index (and of C and I) with what
# they spent in the holdout.
# Usage: bash bench/trust/cdnow_trust.sh   (from the repository root or anywhere)
# Env: OUT (directory for the ledger, the CSV, the JSON reports and each command's warnings in
# a .err file beside its report; default a temp dir),
# SPLITS (space-separated CAL:HOLD pairs, default the thirty-four), CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cdnow.sh"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"

# One event per line of the file: the line number is the order id and the event id (a
# re-import changes nothing), the purchase day at noon UTC, the dollar value in USD.
csv="$out/cdnow_orders.csv"
{
  echo "id,type,at,customer,order,amount,currency"
  tr -d '\r' < "$data" | awk -v file="$data" '
    NR == 1 && $1 !~ /^[0-9]+$/ { next }
    NF != 4 || length($2) != 8 || $2 !~ /^[0-9]+$/ { printf "%s:%d: expected `customer date(YYYYMMDD) cds dollars`\n", file, NR > "/dev/stderr"; exit 1 }
    { printf "cdnow-%d,order.placed,%s-%s-%sT12:00:00Z,%s,%d,%s,USD\n", NR, substr($2,1,4), substr($2,5,2), substr($2,7,2), $1, NR, $4 }'
} > "$csv"
export TRUSTLEDGER_DB="$out/cdnow.db" TRUSTLEDGER_TENANT=cdnow
rm -f "$TRUSTLEDGER_DB" "$TRUSTLEDGER_DB-wal" "$TRUSTLEDGER_DB-shm"
"$bin" clock +00:00 >/dev/null
"$bin" import --strict "$csv" > "$out/import.txt"
head -3 "$out/import.txt"

splits="${SPLITS:-${cdnow_splits[*]}}"

echo "buys again in the holdout, AUC: the trust index [95 % interval], its components, and the two forecasts; then, over those who bought again, the Spearman correlation of what they spent with the index [95 % interval], C and I"
printf '%-23s %6s %6s  %-22s %6s %6s %6s %6s  %6s %7s   %-22s %6s %6s\n' split buyers of 'index [interval]' C R I S bgnbd default 'spend: index [interval]' C I
pairs=()
for s in $splits; do
  cal="${s%:*}"; hold="${s#*:}"
  days=$(( ($(date -ud "$hold" +%s) - $(date -ud "$cal" +%s)) / 86400 ))
  # (each command's warnings go to a .err file beside its report; a failure prints them)
  run() {
    local name="$1"; shift
    "$bin" "$@" --json > "$out/$name.json" 2> "$out/$name.err" \
      || { echo "failed: trustledger $*" >&2; cat "$out/$name.err" >&2; exit 1; }
  }
  run "trust_${cal}_${hold}" evaluate trust --split "$cal" --horizon "$days"
  for m in bgnbd default; do
    run "${m}_${cal}_${hold}" evaluate forecast --transactions "$data" --calibration-end "$cal" \
      --holdout-end "$hold" --model "$m"
  done
  pairs+=("$cal:$hold")
  python3 - "$out" "$cal" "$hold" <<'PY'
import json, sys
out, cal, hold = sys.argv[1:]
t = json.load(open(f"{out}/trust_{cal}_{hold}.json"))
o = next(x for x in t["outcomes"] if x["outcome"] == "buys again")
f = {m: json.load(open(f"{out}/{m}_{cal}_{hold}.json")) for m in ("bgnbd", "default")}
assert f["bgnbd"]["customers"] == o["customers"], (f["bgnbd"]["customers"], o["customers"])
c = o["component_auc"]
sp = t["spending"]
assert sp["customers"] == o["positives"], (sp["customers"], o["positives"])
print("%-23s %6d %6d  %.3f [%.3f, %.3f] %6.3f %6.3f %6.3f %6.3f  %6.3f %7.3f   %.3f [%.3f, %.3f] %6.3f %6.3f" % (
    f"{cal}:{hold}", o["positives"], o["customers"], o["auc"], o["auc_low"], o["auc_high"],
    c["C"], c["R"], c["I"], c["S"], f["bgnbd"]["auc"], f["default"]["auc"],
    sp["spearman"], sp["spearman_low"], sp["spearman_high"],
    sp["component_spearman"]["C"], sp["component_spearman"]["I"]))
# (a purchase log records no referral, removal or review: those three are undefined, as expected)
for w in t["warnings"]:
    if not w.startswith("undefined: the AUC for"):
        print("  warning:", w)
PY
done
python3 - "$out" "${pairs[@]}" <<'PY'
import json, statistics, sys
out, pairs = sys.argv[1], sys.argv[2:]
rows, spend = [], []
for p in pairs:
    cal, hold = p.split(":")
    t = json.load(open(f"{out}/trust_{cal}_{hold}.json"))
    o = next(x for x in t["outcomes"] if x["outcome"] == "buys again")
    b, d = (json.load(open(f"{out}/{m}_{cal}_{hold}.json"))["auc"] for m in ("bgnbd", "default"))
    rows.append((o["auc"], o["component_auc"]["C"], o["component_auc"]["I"], b, d))
    spend.append((t["spending"]["spearman"], t["spending"]["spearman_low"]))
gap = [b - x for x, _, _, b, _ in rows]
cb = [c - b for _, c, _, b, _ in rows]
print(f"over {len(rows)} splits: the index below BG/NBD at {sum(g > 0 for g in gap)} "
      f"(BG/NBD - index {min(gap):+.3f} to {max(gap):+.3f}, median {statistics.median(gap):+.3f}); "
      f"C at or above BG/NBD at {sum(x >= 0 for x in cb)} (C - BG/NBD {min(cb):+.3f} to {max(cb):+.3f}); "
      f"I below the index at {sum(i < x for x, _, i, _, _ in rows)}; "
      f"the default model above C at {sum(d > c for _, c, _, _, d in rows)}; "
      f"spending: Spearman {min(r for r, _ in spend):.3f} to {max(r for r, _ in spend):.3f}, "
      f"its interval above 0 at {sum(lo > 0 for _, lo in spend)}")
PY
echo "ledger, CSV and JSON reports: $out"
