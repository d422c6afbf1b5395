#!/usr/bin/env bash
# A separate venv at DEST holding the real LeRobot on the CPU torch 2.13.0, for the isolated worker
# that runs LeRobot policy folders (benchmark/policies/lerobot_policy.py, docs/policies.md).
# lerobot 0.4.4 is the last release on Python 3.11 (0.6 needs 3.12). It pins torch<2.11 and a
# torchvision and torchcodec that do not exist for torch 2.13, so it goes in --no-deps, followed by
# the packages its configs, processors and policies import (its pyproject asks for more: wandb,
# rerun, cmake, pynput ... which loading a policy never touches), under a constraint that keeps
# torch at 2.13.0. torchvision 0.28.0, the only one for torch 2.13, is a CUDA build whose C ops do
# not load: it goes in --no-deps too, and the worker defines the two op schemas its Python side
# needs (import_lerobot). The worker imports this repository's packages through PYTHONPATH.
# Usage: .ci/lerobot-venv.sh DEST   (does nothing when DEST already loads lerobot's policies)
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
dest=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
export PIP_DISABLE_PIP_VERSION_CHECK=1
probe() {
  PYTHONPATH="$repo" "$dest/bin/python" -c \
    "from benchmark.policies.lerobot_policy import import_lerobot; import_lerobot(); import msgpack"
}
if [ -x "$dest/bin/python" ] && probe 2>/dev/null; then
  exit 0
fi
quiet() { { grep -v -e "is ignored: it is neither a file nor a directory" -e "dependency resolver" \
  -e "lerobot 0.4.4 requires" || true; } >&2; }
python3 -m venv "$dest"
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==2.13.0" >"$constraints"
pip=("$dest/bin/python" -m pip install -q)
"${pip[@]}" "torch==2.13.0" 2>&1 | quiet
"${pip[@]}" --no-deps "lerobot==0.4.4" "torchvision==0.28.0" 2>&1 | quiet
"${pip[@]}" -c "$constraints" "draccus==0.10.0" "huggingface-hub>=0.34.2,<0.36" "safetensors>=0.4.3,<1" \
  "einops>=0.8,<0.9" "packaging>=24.2,<26" "typing_extensions>=4.4" "datasets>=4,<5" \
  "accelerate>=1.10,<2" "diffusers>=0.27.2,<0.36" "imageio>=2.34,<3" "av>=15,<16" "pyserial>=3.5,<4" \
  "deepdiff>=7.0.1,<9" "gymnasium>=1.1.1,<2" "numpy" "pillow" "msgpack>=1.0.5" 2>&1 | quiet
probe
