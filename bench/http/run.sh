#!/usr/bin/env bash
# HTTP benchmarks of `trustledger serve` with wrk on loopback, on the embedded
# SQLite store or on PostgreSQL.
# Usage (from the repo root; needs `apt-get install wrk`):
#   bash bench/http/run.sh            # SQLite
#   bash bench/http/run.sh postgres   # PostgreSQL at $PG (default postgres://postgres@127.0.0.1:5432),
#                                     # in a database trustledger_bench it drops and creates;
#                                     # PG_PARAMS=?sslmode=disable for plain TCP (the default,
#                                     # sslmode=prefer, takes TLS where the server offers it)
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-sqlite}"
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p trustledger
B="${CARGO_TARGET_DIR:-target}/release/trustledger"
dir="$(mktemp -d)"; server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$dir"' EXIT
db="$dir/bench.db"
$B --db "$db" demo --no-serve >/dev/null 2>&1 || $B --db "$db" demo >/dev/null 2>&1
case "$backend" in
  sqlite) store=(--db "$db") ;;
  postgres)
    pg="${PG:-postgres://postgres@127.0.0.1:5432}"
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS trustledger_bench" -c "CREATE DATABASE trustledger_bench"
    store=(--database "$pg/trustledger_bench${PG_PARAMS:-}")
    echo "== loading the demo ledger into PostgreSQL =="
    $B --db "$db" --tenant demo export --out "$dir/demo.ndjson"
    /usr/bin/time -f "import: %e s" $B "${store[@]}" --tenant demo import "$dir/demo.ndjson" | tail -3
    ;;
  *) echo "backend must be sqlite or postgres" >&2; exit 2 ;;
esac
export KEY="$($B "${store[@]}" --tenant demo keys create --role admin 2>/dev/null)"
$B "${store[@]}" serve --addr 127.0.0.1:18080 >/dev/null 2>&1 & server=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done
url=http://127.0.0.1:18080
echo "== [$backend] customer look-up under load (GET /v1/customers/{id}) =="
wrk -t2 -c16 -d10s --latency -s bench/http/lookup.lua "$url"
echo "== [$backend] single-event POST =="
BATCH=1 wrk -t2 -c16 -d10s --latency -s bench/http/events.lua "$url"
echo "== [$backend] single personal-message POST (live template detection reads the ledger) =="
KIND=messages BATCH=1 wrk -t2 -c16 -d10s --latency -s bench/http/events.lua "$url"
echo "== [$backend] batched ingest, 1000 events per POST =="
BATCH=1000 wrk -t2 -c8 -d10s --latency -s bench/http/events.lua "$url"
