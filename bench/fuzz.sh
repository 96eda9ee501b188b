#!/usr/bin/env bash
# A longer fuzzing run of the WAL reader than CI's 60 s, recorded in docs/benchmarks.md with
# libFuzzer's execution count. Never run in CI.
#
#   bash bench/fuzz.sh [SECONDS]        (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. bench/common.sh
seconds="${1:-600}"
log=$(mktemp)
bash scripts/fuzz.sh "$seconds" | tee "$log"
done_line=$(grep "^Done" "$log" | tail -1)
section=$(mktemp)
{
  echo "<!-- fuzz:start -->"
  echo "## Fuzzing the WAL reader"
  echo
  echo "Written by \`bench/fuzz.sh\` (\`scripts/fuzz.sh\`, which \`npm test\` runs for 60 s): the reader and every"
  echo "record parser over arbitrary bytes and mutations of the committed seed corpus (heads of real"
  echo "PostgreSQL 15, 17 and 18 segments)."
  echo
  echo "- commit: \`$(git rev-parse --short HEAD)\`, $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores"
  echo "- ${seconds} s: libFuzzer says \"$done_line\"; no crash, leak or timeout"
  echo "<!-- fuzz:end -->"
} > "$section"
write_section fuzz "$section"
