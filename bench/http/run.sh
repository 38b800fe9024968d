#!/usr/bin/env bash
# HTTP benchmarks of `trustledger serve` on the embedded SQLite store, with wrk on loopback.
# Usage: bash bench/http/run.sh   (from the repo root; needs `apt-get install wrk`)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p trustledger
B=target/release/trustledger
dir="$(mktemp -d)"; trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
db="$dir/bench.db"
$B --db "$db" demo >/dev/null 2>&1
export KEY="$($B --db "$db" --tenant demo keys create --role admin 2>/dev/null)"
$B --db "$db" serve --addr 127.0.0.1:18080 >/dev/null 2>&1 & server=$!
sleep 1
url=http://127.0.0.1:18080
echo "== customer look-up under load (GET /v1/customers/{id}) =="
wrk -t2 -c16 -d10s --latency -s bench/http/lookup.lua "$url"
echo "== single-event POST =="
BATCH=1 wrk -t2 -c16 -d10s --latency -s bench/http/events.lua "$url"
echo "== batched ingest, 1000 events per POST =="
BATCH=1000 wrk -t2 -c8 -d10s --latency -s bench/http/events.lua "$url"
