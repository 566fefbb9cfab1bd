#!/usr/bin/env bash
# Headless Chromium and its driver from Debian's packages, for the browser tests (idempotent).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
# Test workers running side by side may get here at once: one installs, the others wait.
exec 9>"${TMPDIR:-/tmp}/leadflow-ensure-chromium.lock"
flock 9
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
