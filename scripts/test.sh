#!/usr/bin/env bash
# npm test: install prerequisites and PostgreSQL builds, then fmt, UI checks, clippy (warnings
# are errors), Rust tests against real servers and the real keychain, the window tests under
# Xvfb, the IPC bindings check, and the UI unit tests. Ends with the counts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
started=$(date +%s)
bash scripts/bootstrap.sh test

work="$(mktemp -d /tmp/tideline-test-run-XXXXXX)"
chmod 755 "$work"
export TIDELINE_TEST_REPORT="$work/majors"
: > "$TIDELINE_TEST_REPORT"
chmod 666 "$TIDELINE_TEST_REPORT"
export TIDELINE_FAULT_REPORT="$work/faults"
: > "$TIDELINE_FAULT_REPORT"
chmod 666 "$TIDELINE_FAULT_REPORT"
export TIDELINE_SCREENSHOTS="${TIDELINE_SCREENSHOTS:-$PWD/target/screenshots}"

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; shift; "$@"; }

step "rustfmt" cargo fmt --all --check
step "UI type check" npm run --silent ui:check
step "UI build" npm run --silent ui:build
step "clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
step "build" cargo build --workspace --all-targets --quiet

# One D-Bus session with an unlocked keyring and one virtual display serve every Rust test,
# including the WebDriver tests of the real window (ignored by plain `cargo test`). One failing
# test binary must not hide the others: --no-fail-fast, and the exit status is kept for the end.
rust_status=0
# Each major is its own test case; the cases mostly wait on servers and child tools, so three
# run side by side on two cores (measured: the six-major suite in about the time three took).
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-3}"
step "Rust tests (real PostgreSQL, real keychain, real window)" \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash scripts/with-keyring.sh \
  cargo test --workspace --all-targets --no-fail-fast -- --include-ignored 2>&1 | tee "$work/cargo.log" || rust_status=$?

step "IPC bindings are current" true
generated="ui/src/bindings src-tauri/capabilities"
if ! git diff --quiet -- $generated || [ -n "$(git ls-files --others --exclude-standard $generated)" ]; then
  echo "ui/src/bindings or src-tauri/capabilities differ from the Rust declarations (the build and cargo test regenerated them):" >&2
  git status --short $generated >&2
  if [ -n "${CI:-}" ]; then
    echo "Commit the regenerated bindings." >&2
    exit 1
  fi
  echo "(not in CI: commit them before you push)" >&2
fi

step "Fuzzing the WAL reader (60 s)" bash scripts/fuzz.sh 60

step "UI unit tests" npx vitest run --config ui/vite.config.ts --reporter=default --reporter=json --outputFile="$work/vitest.json"

count() { awk -v what="$1" '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ "^" what) n += $i } END { print n + 0 }' "$work/cargo.log"; }
rust_passed=$(count passed)
rust_failed=$(count failed)
ui_passed=$(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests)' "$work/vitest.json")
ui_failed=$(node -e 'const r=require(process.argv[1]);console.log(r.numFailedTests)' "$work/vitest.json")
majors=$(awk '{ print $1 }' "$TIDELINE_TEST_REPORT" | sort -un | paste -sd, | sed 's/,/, /g')
echo
echo "Rust tests: $rust_passed passed; UI tests: $ui_passed passed"
echo "PostgreSQL majors the server tests ran on: ${majors:-none}"
echo "Time per major (its test cases, summed; they run side by side):"
awk 'NF == 2 { t[$1] += $2; n[$1]++ } END { for (m in t) printf "  PostgreSQL %s: %d cases, %.0f s\n", m, n[m], t[m] }' "$TIDELINE_TEST_REPORT" | sort -k2 -n
echo "Screenshots: $TIDELINE_SCREENSHOTS"
echo "Fault suite:"
sort "$TIDELINE_FAULT_REPORT" | sed 's/^/  /'

echo "Took $(( $(date +%s) - started )) s"
echo "$((rust_passed + ui_passed)) passed, $((rust_failed + ui_failed)) failed"
rm -rf "$work"
[ "$rust_status" = 0 ] || { echo "cargo test failed (exit $rust_status)" >&2; exit "$rust_status"; }
# A major that never ran is a failure, not a skip (TIDELINE_TEST_MAJORS narrows a run by hand).
if [ -z "${TIDELINE_TEST_MAJORS:-}" ] && [ "$majors" != "13, 14, 15, 16, 17, 18" ]; then
  echo "the server tests ran on ${majors:-no major}, not on all of 13, 14, 15, 16, 17, 18" >&2
  exit 1
fi
