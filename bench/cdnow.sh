# Sourced by the bench scripts that run on CDNOW_master (bench/forecast/compare_splits.sh,
# bench/trust/cdnow_trust.sh): finds the data, builds the release binary and names the
# thirty-four calibration:holdout splits of EVALUATION.md.
# Sets: root (the repository), data (CDNOW_master.txt), bin (trustledger), cdnow_splits (array).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/../shared/data/cdnow/CDNOW_master.txt"
[ -f "$data" ] || { echo "missing $data (see shared/data/README.md)" >&2; exit 1; }
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
(cd "$root" && cargo build --release -q -p trustledger)
bin="${CARGO_TARGET_DIR:-$root/target}/release/trustledger"
cdnow_splits=(
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
