#!/usr/bin/env bash
# The app, release build, under Xvfb: from launch to the timeline drawn with what it loaded
# (the time the UI reports after its second frame, logged by the app as "first screen drawn"),
# and the idle memory of the whole process tree (the app and WebKit's processes: PSS from
# /proc/PID/smaps_rollup, 10 s after the timeline is drawn). Two homes: an empty one (the
# demo offer is drawn) and one with the demo (a cluster archiving WAL and a base backup: the
# timeline of a real profile is drawn). Never run in CI.
#
#   bash bench/app.sh [RUNS]        (default: 7 runs per home)
#
# Writes the "The app" section of docs/benchmarks.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
# The app reads the keychain: a throwaway one, in its own D-Bus session.
if [ -z "${GNOME_KEYRING_CONTROL:-}" ]; then
  exec dbus-run-session -- bash scripts/with-keyring.sh bash "$0" "$@"
fi
. scripts/env.sh
. bench/common.sh
RUNS="${1:-7}"
APP="$CARGO_TARGET_DIR/release/tideline-app"
TL="$CARGO_TARGET_DIR/release/tideline"

npm run --silent ui:build >/dev/null
cargo build --release -p tideline-cli -p tideline-app --quiet
work="$(mktemp -d /tmp/tideline-appbench-XXXXXX)"
chmod 755 "$work"
display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
export DISPLAY=$display
trap 'kill $xvfb 2>/dev/null; TIDELINE_HOME="$work/demo" "$TL" demo --remove >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
sleep 1

# Every process of the tree under PID (children of children included).
tree() {
  local pid=$1 child
  echo "$pid"
  for child in $(ps -o pid= --ppid "$pid"); do tree "$child"; done
}
# PSS of PIDs in KiB, and one "name KiB" line per process on fd 3.
pss() {
  local pid kib total=0
  for pid in "$@"; do
    kib=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    echo "$(cat "/proc/$pid/comm" 2>/dev/null) $kib" >&3
    total=$((total + kib))
  done
  echo "$total"
}

# one HOME_NAME: launches the app on that home, records the launch time and the idle PSS.
one() {
  local name=$1 home="$work/$1" t0 line unix_ms pid pids total
  rm -f "$home"/logs/app*.log
  t0=$(now)
  TIDELINE_HOME="$home" setsid "$APP" >"$work/app-$name.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    line=$(grep -h "first screen drawn" "$home"/logs/app*.log 2>/dev/null | tail -1 || true)
    [ -n "$line" ] && break
    sleep 0.02
  done
  [ -n "$line" ] || { cat "$work/app-$name.out" >&2; echo "the app never drew its first screen" >&2; exit 1; }
  unix_ms=$(echo "$line" | sed -E 's/.*unix_ms=([0-9]+).*/\1/')
  record "launch_$name" "$(echo "scale=3; $unix_ms / 1000 - $t0" | bc)" 0
  sleep 10
  pids=$(tree "$pid")
  total=$(pss $pids 3>>"$work/pss-$name.txt")
  echo "--" >>"$work/pss-$name.txt"
  record "pss_$name" "$((total / 1024))" 0
  kill -- -"$pid" 2>/dev/null || kill "$pid"
  wait "$pid" 2>/dev/null || true
  sleep 1
}

mkdir -p "$work/empty"
echo "setting up the demo…" >&2
TIDELINE_HOME="$work/demo" "$TL" demo >/dev/null
# A first launch of each, untimed: the catalog's migrations and WebKit's caches on disk.
for h in empty demo; do
  one "$h"; times[launch_$h]=""; times[pss_$h]=""; : >"$work/pss-$h.txt"
done
for run in $(seq 1 "$RUNS"); do
  echo "run $run/$RUNS" >&2
  for h in empty demo; do one "$h"; done
done
# The last demo run's memory, per process.
breakdown=$(awk '/^--$/ {if (block != "") last = block; block = ""; next}
  {block = block sprintf("%s %d MiB; ", $1, $2 / 1024)} END {print (block != "" ? block : last)}' "$work/pss-demo.txt")

section=$(mktemp)
{
  echo "<!-- app:start -->"
  echo "## The app"
  echo
  echo "Written by \`bench/app.sh\`. Release build under Xvfb (1280×800); medians of $RUNS launches per home after one untimed launch; every raw run is listed."
  echo
  echo "- commit: \`$(git rev-parse --short HEAD)\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; WebKitGTK $(dpkg-query -W -f '${Version}' libwebkit2gtk-4.1-0 2>/dev/null || echo '?')"
  echo "- launch: from starting the process to the timeline drawn with what it loaded (the UI reports it after the second frame; the app logs the moment)"
  echo "- memory: PSS of the app and every WebKit process it started, 10 s after the timeline was drawn"
  echo
  echo "| what | median | raw runs |"
  echo "|---|---|---|"
  echo "| launch, empty home (s) | $(m launch_empty) | ${times[launch_empty]} |"
  echo "| launch, the demo's timeline (s) | $(m launch_demo) | ${times[launch_demo]} |"
  echo "| idle PSS, empty home (MiB) | $(m pss_empty) | ${times[pss_empty]} |"
  echo "| idle PSS, the demo's timeline (MiB) | $(m pss_demo) | ${times[pss_demo]} |"
  echo
  echo "Per process, the last demo run: $breakdown"
  echo
  echo "| measure | value | goal |"
  echo "|---|---|---|"
  echo "| launch → timeline drawn (s), the demo | $(printf '%.2f' "$(m launch_demo)") | ≤ 1.5 |"
  echo "| idle PSS of the process tree (MiB), the demo | $(printf '%.0f' "$(m pss_demo)") | ≤ 250 |"
  echo "<!-- app:end -->"
} > "$section"
write_section app "$section"
