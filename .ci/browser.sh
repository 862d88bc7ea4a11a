#!/usr/bin/env bash
# Browser test of the HTML reports (tests/browser): opens the queue page and
# the model page in headless chromium, drives them (filters, sort, search, an
# account's survival curve), times a 50,000-account queue and saves
# screenshots to target/screenshots/. Assumes `cargo build --release` has run
# (.ci/run does). Installs what it needs: Debian's chromium when missing (we
# run as root) and a venv at .venv with tests/browser/requirements.txt.
# Playwright drives the system chromium; it never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")/.."

for bin in ebbflow-score ebbflow-train ebbflow-synth; do
  if [ ! -x "target/release/$bin" ]; then
    echo "target/release/$bin is missing: run cargo build --release first" >&2
    exit 2
  fi
done

# apt needs root; use sudo when CI runs as another user.
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi
chromium --version 2>/dev/null || true

if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv; then
    # Debian's python3 keeps venv in a package of its own.
    rm -rf .venv
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
  fi
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/browser/requirements.txt

# -p no:cacheprovider: no .pytest_cache in the work tree.
.venv/bin/python -m pytest tests/browser -v -p no:cacheprovider "$@"
echo "screenshots: $(ls target/screenshots/*.png | tr '\n' ' ')"
