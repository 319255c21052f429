#!/usr/bin/env bash
# The CeleryExecutor test (tests/services) runs Debian's redis-server as its broker (never a downloaded
# binary). Install it when missing and we may (root with apt); otherwise say what to install.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian's redis-server for the CeleryExecutor test"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The package's own service is not wanted: the test starts its own server on a free port.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
else
  echo "redis-server is not installed and cannot be installed here (need root and apt-get)." >&2
  echo "Install Debian's 'redis-server' package." >&2
  exit 1
fi
