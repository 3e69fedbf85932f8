#!/usr/bin/env bash
# What the web app's browser tests need: Debian's Chromium, installed from
# Debian's packages when absent. Playwright (playwright-core) drives this
# binary; nothing downloads a browser of its own.
set -euo pipefail
CHROMIUM=${RESAYIL_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "browser: $CHROMIUM is missing and apt-get is not available: install Chromium and set RESAYIL_CHROMIUM to its path" >&2
	exit 1
fi
echo "browser: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
"$CHROMIUM" --version
