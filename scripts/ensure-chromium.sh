#!/usr/bin/env bash
# The UI tests drive Debian's Chromium with playwright (never a downloaded browser). Install it when
# missing and we may (root with apt); otherwise say what to install.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed and cannot be installed here (need root and apt-get)." >&2
  echo "Install Debian's 'chromium' package, or set SMS_TRACKING_CHROMIUM to a Chromium binary." >&2
  exit 1
fi
