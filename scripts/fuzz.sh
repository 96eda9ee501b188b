#!/usr/bin/env bash
# Fuzzes the WAL reader for SECONDS (default 60) from the committed seed corpus (real segment
# heads of PostgreSQL 15, 17 and 18). Fails on any crash; prints libFuzzer's run count last.
set -euo pipefail
cd "$(dirname "$0")/../crates/tideline-wal"
seconds="${1:-60}"
work="$(mktemp -d /tmp/tideline-fuzz-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp fuzz/corpus/reader/* "$work/"
# New inputs go to the scratch corpus; the committed seeds stay as they are.
cargo +nightly fuzz run reader "$work" fuzz/corpus/reader -- \
  -max_total_time="$seconds" -max_len=131072 -artifact_prefix="$work/" 2>&1 | tee "$work/log" | grep -E "^Done|panicked|ERROR" || true
if ls "$work"/crash-* "$work"/oom-* "$work"/timeout-* >/dev/null 2>&1; then
  echo "the fuzzer found a failing input:" >&2
  ls "$work"/crash-* "$work"/oom-* "$work"/timeout-* 2>/dev/null >&2
  exit 1
fi
grep -q "^Done" "$work/log" || { echo "the fuzzer did not finish" >&2; tail -20 "$work/log" >&2; exit 1; }
