#!/usr/bin/env bash
# A separate venv at DEST holding the real openpi-client and its own dependencies (it pins
# numpy<2, so it cannot share the project venv). The remote-policy tests talk to our server with it.
# Usage: .ci/openpi-client-venv.sh DEST   (does nothing when DEST already imports openpi_client)
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
dest=$1
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ -x "$dest/bin/python" ] && "$dest/bin/python" -c "import openpi_client" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$dest"
# openpi-client imports typing_extensions without declaring it.
"$dest/bin/python" -m pip install -q "openpi-client==0.1.2" "typing_extensions>=4.4" 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
"$dest/bin/python" -c "import openpi_client.websocket_client_policy"
