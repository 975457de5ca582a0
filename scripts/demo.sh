#!/usr/bin/env bash
# make demo: runs discover on the bundled example tree and prints the result.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== image-gate discover examples/demo-repo" >&2
python3 -m gate discover examples/demo-repo --marker "jim-compliance: production-image" --json || status=$?
echo "== exit code ${status:-0} (1 means the policy found unpinned images, as the example tree intends)" >&2
