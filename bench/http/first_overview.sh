#!/usr/bin/env bash
# The first dashboard overview on PostgreSQL right after a bulk import: the demo ledger
# (1,047,141 events) imported into a fresh database, then the time from signing in to the
# overview's arrival (the sign-in starts the ledger pass the overview needs), a second
# overview (cached), and `export` (one more pass over the ledger).
# Usage (from the repo root):
#   bash bench/http/first_overview.sh [OTHER_BINARY ...]
# Each binary given (an older build, say) is measured beside this checkout's release build,
# in turn, on the same ledger. PostgreSQL at $PG (default postgres://postgres@127.0.0.1:5432),
# in databases trustledger_overview_N it drops and creates.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p trustledger
B="${CARGO_TARGET_DIR:-target}/release/trustledger"
pg="${PG:-postgres://postgres@127.0.0.1:5432}"
dir="$(mktemp -d)"; server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$dir"' EXIT
$B --db "$dir/demo.db" demo --no-serve >/dev/null 2>&1
$B --db "$dir/demo.db" --tenant demo export --out "$dir/demo.ndjson" >/dev/null 2>&1
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }
n=0
for bin in "$B" "$@"; do
  n=$((n + 1)); db="trustledger_overview_$n"; port=$((18180 + n))
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  store=(--database "$pg/$db" --tenant demo)
  echo "== $bin =="
  echo "import: $(secs "$bin" "${store[@]}" import --ledger "$dir/demo.ndjson") s"
  "$bin" "${store[@]}" clock +08:00 >/dev/null
  key=$("$bin" "${store[@]}" keys create --role admin 2>/dev/null | grep -o 'tl_[A-Za-z0-9_]*' | head -1)
  "$bin" --database "$pg/$db" serve --addr "127.0.0.1:$port" >"$dir/serve.log" 2>&1 & server=$!
  for _ in $(seq 1 50); do curl -sf "localhost:$port/healthz" >/dev/null && break; sleep 0.2; done
  first() {
    curl -sf -c "$dir/jar" -o /dev/null -d "key=$key" "localhost:$port/login" || true
    curl -sf -b "$dir/jar" -o /dev/null "localhost:$port/?lang=en"
  }
  echo "sign-in to first overview: $(secs first) s"
  echo "second overview: $(curl -sf -b "$dir/jar" -o /dev/null -w '%{time_total}' "localhost:$port/?lang=en") s"
  kill $server; wait $server 2>/dev/null || true; server=""
  echo "export: $(secs "$bin" "${store[@]}" export --out /dev/null) s"
  psql "$pg/postgres" -qc "DROP DATABASE $db"
done
