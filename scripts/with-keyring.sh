#!/usr/bin/env bash
# Runs a command inside the current (fresh) D-Bus session with a real gnome-keyring, unlocked
# with a throwaway password, in a throwaway keyring directory: the tests use the real Secret
# Service and leave nothing in the user's own keyring.
set -euo pipefail
export XDG_DATA_HOME="$(mktemp -d /tmp/tideline-keyring-XXXXXX)"
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
eval "$(printf 'tideline-test' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
"$@"
