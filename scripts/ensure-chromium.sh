#!/usr/bin/env bash
# The leaderboard's browser test drives Debian's Chromium (no browser download). Install it when it is
# missing and apt-get is at hand (as root, or through sudo); otherwise say so and let the test skip.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [[ -n "${FECBENCH_CHROMIUM:-}" ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found and no apt-get here: the browser test will skip (set FECBENCH_CHROMIUM to a Chromium binary)" >&2
  exit 0
fi
sudo=()
if [[ "$(id -u)" != 0 ]]; then
  sudo=(sudo -n)
fi
echo "installing Debian's chromium for the browser test" >&2
if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null; }; then
  echo "could not install chromium: the browser test will skip (it fails instead under CI=true)" >&2
fi
