#!/usr/bin/env bash
# The timeline query over a large archive: one PostgreSQL 15 cluster archiving through
# wal-push, a base backup, then 10,000 more summarised segments (summaries like a week of
# steady traffic: a minute of commits each, row changes, a remembered commit every 100th) so
# the catalog indexes 10,000+ summaries. Times `tideline timeline PROFILE --json` (the whole
# process: catalog open, summary ingest check, window, density, events) once to ingest, then
# RUNS times. Never run in CI.
#
#   bash bench/timeline_query.sh [SEGMENTS] [RUNS]        (defaults: 10000 segments, 7 runs)
#
# Writes the "Timeline query" section of docs/benchmarks.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. bench/common.sh
SEGMENTS="${1:-10000}"
RUNS="${2:-7}"
BIN=/usr/lib/postgresql/15/bin
TL="$CARGO_TARGET_DIR/release/tideline"

cargo build --release -p tideline-cli --quiet
work="$(mktemp -d /tmp/tideline-timelinebench-XXXXXX)"
chmod 755 "$work"
export TIDELINE_HOME="$work/home"
as_pg=(runuser -u postgres --)
mkdir -p "$work/repo" && chown postgres "$work" "$work/repo"
cp "$TL" "$work/tideline" && chmod 755 "$work/tideline"
"${as_pg[@]}" "$BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
PORT=$(free_port)
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-p $PORT -k $work \
  -c listen_addresses=127.0.0.1 -c archive_mode=on \
  -c archive_command='$work/tideline wal-push --repo $work/repo %p'" start >/dev/null
trap '"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

"$TL" profile add bench --url "postgresql://postgres@127.0.0.1:$PORT/postgres?sslmode=disable" --no-password >/dev/null
"$TL" repo path "$work/repo" >/dev/null
psql -d postgres -c "CREATE TABLE t AS SELECT generate_series(1, 1000) AS x" -c "SELECT pg_switch_wal()" >/dev/null
sysid=$(psql -d postgres -Atc "SELECT system_identifier FROM pg_control_system()")
wal="$work/repo/clusters/$sysid/wal"
until ls "$wal"/*.zst >/dev/null 2>&1; do sleep 0.2; done
"$TL" basebackup bench >/dev/null
psql -d postgres -c "INSERT INTO t SELECT generate_series(1, 1000)" -c "SELECT pg_switch_wal()" >/dev/null
last=$(psql -d postgres -Atc "SELECT pg_walfile_name(pg_current_wal_lsn())")
until [ -e "$wal/$(python3 -c "print('%024X' % (int('$last', 16) - 1))").json" ]; do sleep 0.2; done
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null

echo "adding $SEGMENTS summarised segments…" >&2
python3 - "$wal" "$SEGMENTS" <<'PY'
import datetime, json, os, sys
wal, count = sys.argv[1], int(sys.argv[2])
segs = sorted(n[:24] for n in os.listdir(wal) if n.endswith(".zst") and len(n) == 28)
template = os.path.join(wal, segs[-1] + ".zst")
tli, number = int(segs[-1][:8], 16), int(segs[-1][8:16], 16) * 256 + int(segs[-1][16:], 16)
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=count + 10)
for i in range(1, count + 1):
    n = number + i
    name = "%08X%08X%08X" % (tli, n // 256, n % 256)
    minute = start + datetime.timedelta(minutes=i)
    t = lambda s: (minute + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    xid = 1000 + i * 50
    lsn = "%X/%X" % (n * 16 // 4096, (n * (16 << 20)) & 0xFFFFFFFF)
    summary = {
        "format_version": 2, "segment": name, "timeline": tli, "major": 15, "records": 120000,
        "commits": 3000, "aborts": 12,
        "first_commit": {"xid": str(xid), "lsn": lsn, "time": t(0)},
        "last_commit": {"xid": str(xid + 49), "lsn": lsn, "time": t(59)},
        "commits_per_minute": {minute.strftime("%Y-%m-%dT%H:%MZ"): 3000},
        "restore_points": [],
        "changes": [{"xid": str(xid + k), "file": "1663/5/%d" % (16384 + k), "inserted": 0,
                     "updated": 40, "deleted": 10 if i % 100 == 0 else 0} for k in range(5)],
        "ended": [{"xid": str(xid), "subxacts": [], "lsn": lsn, "time": t(30), "dropped": [], "created": []}]
                 if i % 100 == 0 else [],
        "open": {"changed": [], "created": []}, "end_of_wal": None, "previous_missing": False,
    }
    os.link(template, os.path.join(wal, name + ".zst"))
    with open(os.path.join(wal, name + ".json"), "w") as f:
        json.dump(summary, f)
PY
indexed=$(ls "$wal"/*.json | wc -l)

t0=$(now); "$TL" timeline bench --json > "$work/first.json"; t1=$(now)
first_ms=$(echo "($t1 - $t0) * 1000" | bc)
for run in $(seq 1 "$RUNS"); do
  t0=$(now); "$TL" timeline bench --json > "$work/timeline.json"; t1=$(now)
  record timeline "$(printf '%.1f' "$(echo "($t1 - $t0) * 1000" | bc)")" 0
done
minutes=$(python3 -c "import json; v=json.load(open('$work/timeline.json')); print(len(v['commit_density']))")
[ "$minutes" -ge "$SEGMENTS" ] || { echo "the timeline shows $minutes minutes of commits, not $SEGMENTS" >&2; exit 1; }
med=$(m timeline)
verdict=$(python3 -c "print('met' if $med < 100 else 'missed')")

out="$work/section.md"
{
  echo "<!-- timeline-query:start -->"
  echo "## Timeline query ($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD))"
  echo
  echo "\`bash bench/timeline_query.sh $SEGMENTS $RUNS\`: \`tideline timeline PROFILE --json\` as a whole process"
  echo "(release build) over a catalog indexing $indexed segment summaries; the response holds $minutes"
  echo "minutes of commit density, the recovery window and the events. The first run also ingests"
  echo "the summaries into the catalog."
  echo
  echo "| measure | ms | goal |"
  echo "|---|---|---|"
  printf '| first run (ingests %s summaries) | %.0f | — |\n' "$indexed" "$first_ms"
  printf '| timeline query, median of %s | %.1f | < 100 (%s) |\n' "$RUNS" "$med" "$verdict"
  echo
  echo "Raw runs (ms): ${times[timeline]}"
  echo "<!-- timeline-query:end -->"
} > "$out"
write_section timeline-query "$out"
