#!/usr/bin/env bash
# Install Debian's python3-torch (CPU) for the PyTorch bridge's tests (properties/torch.test.ts) and
# `adzone verify --backends torch`. Idempotent: does nothing when a system Python already imports
# torch. Needs root (or sudo) and apt-get. --no-install-recommends keeps it to what torch needs.
set -euo pipefail

for py in /usr/bin/python3 /usr/local/bin/python3; do
  if [ -x "$py" ] && v=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
    echo "torch already installed: $py imports torch $v"
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else echo "install-torch.sh: needs root (or sudo) to run apt-get" >&2; exit 1; fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-torch.sh: apt-get not found; install PyTorch for a system python3 (or set ADZONE_PYTHON)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends python3-torch
/usr/bin/python3 -c 'import torch; print("installed torch", torch.__version__)'
