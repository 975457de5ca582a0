#!/usr/bin/env bash
# make demo: the whole supply-chain gate on this machine, offline, in well under a minute.
#
#   1. discover: the production Dockerfiles of examples/demo-repo and their unpinned images;
#   2. a throwaway registry on loopback (CNCF distribution 2.8, config and storage in a temp dir);
#   3. the example image (scripts/demo_image.py): 2 platforms, a CycloneDX SBOM attestation per
#      platform, SLSA provenance, an OpenVEX statement and a signature, all OCI referrers;
#   4. `pipeline` (mirror -> scan -> gate -> promote) with the offline OSV scanner and the bundled
#      advisories (examples/advisories), twice:
#        - blocked: minimist 1.2.5 (CVE-2021-44906, CVSS 9.8) is above the threshold; the image
#          stays in quarantine and production has nothing;
#        - promoted: examples/demo/exceptions.yaml accepts that finding (with a reason and an expiry);
#          the image and every referrer reach production, with the scan report attached, and the
#          quarantine tag is deleted.
#      The image's own OpenVEX statement suppresses CVE-2024-21538 (cross-spawn) in both runs.
# Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/.cache/tools/bin:$PATH"
PYTHON=${PYTHON:-python3}

if [ -t 1 ]; then bold=$'\033[1m' green=$'\033[32m' red=$'\033[31m' off=$'\033[0m'; else bold="" green="" red="" off=""; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$off"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$off"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/image-gate-demo.XXXXXX")
registry_pid=""
cleanup() {
  status=$?
  if [ -n "$registry_pid" ] && kill -0 "$registry_pid" 2>/dev/null; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
started=$(date +%s)

# --- 1. discover ---------------------------------------------------------------------------------
step "1/4 discover: production Dockerfiles and the images they pull (examples/demo-repo)"
show "python3 -m gate discover examples/demo-repo --marker \"jim-compliance: production-image\""
discover_status=0
GITHUB_STEP_SUMMARY="$work/discover.md" "$PYTHON" -m gate discover examples/demo-repo \
  --marker "jim-compliance: production-image" --json >"$work/discover.json" 2>"$work/discover.err" || discover_status=$?
"$PYTHON" - "$work/discover.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
production = [d["path"] for d in doc["dockerfiles"] if d["production"]]
print(f"  {len(doc['dockerfiles'])} Dockerfiles, production: {', '.join(production)}")
for image in doc["images"]:
    where = ", ".join(f"{l['path']}:{l['line']}" for l in image["locations"])
    print(f"  {'pinned  ' if image['pinned'] else 'UNPINNED'} {image['image'][:72]:<72} {where}")
EOF
echo "  exit code $discover_status (1: the policy found unpinned images in production Dockerfiles, as this tree intends)"

# --- 2. registry ---------------------------------------------------------------------------------
step "2/4 a throwaway registry on loopback (distribution 2.8, deletes enabled)"
command -v docker-registry >/dev/null || { echo "docker-registry not found: run scripts/install-tools.sh --demo (make demo does)" >&2; exit 3; }
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/storage"
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
health:
  storagedriver:
    enabled: false
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
reg="127.0.0.1:$port"
for _ in $(seq 1 100); do
  if "$PYTHON" -c "import urllib.request,sys; urllib.request.urlopen('http://$reg/v2/', timeout=1)" 2>/dev/null; then break; fi
  kill -0 "$registry_pid" 2>/dev/null || { echo "the registry exited:" >&2; cat "$work/registry.log" >&2; exit 3; }
  sleep 0.1
done
echo "  registry at http://$reg (pid $registry_pid, storage in $work)"

# --- 3. the example image -------------------------------------------------------------------------
source_ref="$reg/upstream/app:1.4.2"
quarantine_ref="$reg/quarantine/app:1.4.2"
production_ref="$reg/production/app:1.4.2"
step "3/4 the example image: $source_ref"
show "python3 scripts/demo_image.py $source_ref"
"$PYTHON" scripts/demo_image.py "$source_ref" >"$work/image.json"
"$PYTHON" - "$work/image.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
print(f"  index {doc['digest']}")
for platform, digest in doc["platforms"].items():
    print(f"    {platform:<16} {digest}")
for ref in doc["referrers"]:
    print(f"    referrer {ref['kind']:<20} {ref['digest'][:19]}… -> {ref['subject'][:19]}…")
EOF

# --- 4. pipeline, twice ---------------------------------------------------------------------------
pipeline() {  # name, extra args...
  local name=$1
  shift
  local status=0
  show "python3 -m gate pipeline --source $source_ref --quarantine $quarantine_ref --production $production_ref \\"
  show "    --scanner osv --osv-db examples/advisories --delete-source-tag $*"
  GITHUB_STEP_SUMMARY="$work/$name.md" GITHUB_OUTPUT="$work/$name.out" "$PYTHON" -m gate pipeline \
    --source "$source_ref" --quarantine "$quarantine_ref" --production "$production_ref" \
    --scanner osv --osv-db examples/advisories --sarif-output "$work/$name.sarif" \
    --delete-source-tag "$@" --json >"$work/$name.json" 2>"$work/$name.err" || status=$?
  sed 's/^/  | /' "$work/$name.err"
  echo
  echo "  ---- step summary (\$GITHUB_STEP_SUMMARY) ----"
  if [ -s "$work/$name.md" ]; then
    "$PYTHON" scripts/render_summary.py "$work/$name.md" | sed 's/^/  /'
  else
    echo "  (no summary written)"
  fi
  echo "  ---- end of step summary ----"
  return "$status"
}

tags() {  # repo
  regctl --host "reg=$reg,tls=disabled" tag ls "$reg/$1" 2>/dev/null | grep -v '^sha256-' | tr '\n' ' ' || true
}

step "4/4 pipeline, run 1: no exceptions"
blocked_status=0
pipeline blocked || blocked_status=$?
if [ "$blocked_status" -eq 1 ]; then
  verdict=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' "$work/blocked.json")
  echo "  ${red}exit 1: BLOCKED${off} (verdict $verdict)"
else
  echo "  unexpected exit code $blocked_status (wanted 1: blocked)" >&2
  exit 1
fi
echo "  quarantine/app tags: $(tags quarantine/app)"
echo "  production/app tags: $(tags production/app)(none: nothing was promoted)"

step "4/4 pipeline, run 2: with examples/demo/exceptions.yaml"
sed 's/^/  | /' examples/demo/exceptions.yaml
promoted_status=0
pipeline promoted --exceptions examples/demo/exceptions.yaml || promoted_status=$?
if [ "$promoted_status" -eq 0 ]; then
  echo "  ${green}exit 0: PROMOTED${off}"
else
  echo "  unexpected exit code $promoted_status (wanted 0: promoted)" >&2
  exit 1
fi
echo "  quarantine/app tags: $(tags quarantine/app)(the quarantine tag was deleted after verification)"
echo "  production/app tags: $(tags production/app)"
echo
show "regctl artifact tree $production_ref"
regctl --host "reg=$reg,tls=disabled" artifact tree "$production_ref" | sed 's/^/  /'

step "done in $(($(date +%s) - started))s: one blocked run (exit 1), one promoted run (exit 0); registry stopped"
