#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need, idempotently (each step is skipped when what
# it installs is there: a stamp per Go tool names its module and flags, the Python stamp the content of
# pyproject.toml). Usage: scripts/install-tools.sh [--demo]
#
# Everything (make test, make bench; no argument):
#   Debian: docker-registry (CNCF distribution 2.8), skopeo, apache2-utils (htpasswd)
#   Python: the package with its test extras (editable)
#   Go:     regctl, crane, osv-scanner, cosign, oras, Trivy (~7 min to build on 2 cores, once), our
#           referrers-API test registry and our Trivy test-database builder (trivy-db-builder), built into
#           .cache/tools/bin (ignored by git)
#   Debian: real bookworm packages (amd64, arm64) for the layer-scan tests, into .cache/debian
# --demo (make demo): only what scripts/demo.sh runs: docker-registry, the package without its test
#   extras, regctl (the tags and the artifact tree it shows). The scan is the built-in OSV scanner.
# Trivy's version is also pinned in the Dockerfile (the action's image): bump the two together.
set -euo pipefail
mode=all
case "${1-}" in
  "") ;;
  --demo) mode=demo ;;
  *) printf 'usage: %s [--demo]\n' "$0" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.cache/tools"
mkdir -p "$tools/bin"

log() { printf 'install-tools: %s\n' "$*" >&2; }

if [ "$mode" = demo ]; then apt_packages=(docker-registry); else apt_packages=(docker-registry skopeo apache2-utils); fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The stamp names pyproject.toml's content (a fresh clone's file times say nothing); the test install also
# serves the demo. The import check catches another interpreter or an uninstalled package.
python_key=$(sha256sum pyproject.toml | cut -c1-16)
installed='import importlib.metadata as m; m.version("image-gate")'
if [ "$mode" = demo ]; then
  if ! { [ -f "$tools/.python-test.$python_key" ] || [ -f "$tools/.python-demo.$python_key" ]; } ||
     ! python3 -c "$installed" 2>/dev/null; then
    log "pip install -e ."
    python3 -m pip install -q --disable-pip-version-check -e .
    rm -f "$tools"/.python-demo.*
    touch "$tools/.python-demo.$python_key"
  fi
elif [ ! -f "$tools/.python-test.$python_key" ] || ! python3 -c "$installed; import pytest, hypothesis" 2>/dev/null; then
  log "pip install -e .[test]"
  python3 -m pip install -q --disable-pip-version-check -e ".[test]"
  rm -f "$tools"/.python-test.* "$tools/python.stamp"
  touch "$tools/.python-test.$python_key"
fi

go_tool() {  # name module@version [go install flags...]: the stamp names the module and the flags
  local name=$1 module=$2
  shift 2
  local want="$tools/bin/.$name.$(echo "$module" | tr '/@' '__')"
  if (($#)); then want="$want.$(printf '%s\n' "$@" | sha256sum | cut -c1-12)"; fi
  if [ -x "$tools/bin/$name" ] && [ -f "$want" ]; then return; fi
  log "go install $module"
  GOBIN="$tools/bin" GOFLAGS=-mod=mod go install "$@" "$module"
  rm -f "$tools/bin/.$name."*
  touch "$want"
}
go_tool regctl github.com/regclient/regclient/cmd/regctl@v0.11.7
if [ "$mode" = demo ]; then
  log "demo tools ready in $tools/bin"
  exit 0
fi
go_tool crane github.com/google/go-containerregistry/cmd/crane@v0.22.1
# osv-scanner 2.6.0 needs go >= 1.27: let the go command fetch that toolchain from the module proxy.
GOTOOLCHAIN=auto go_tool osv-scanner github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.6.0
go_tool cosign github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3
go_tool oras oras.land/oras/cmd/oras@v1.3.6
# Trivy needs encoding/json/v2 (GOEXPERIMENT=jsonv2); built as its releases are (static, stripped, its
# version stamped in: `go install` alone reports "dev"). ~7 min on 2 cores.
trivy_version=0.74.0
GOEXPERIMENT=jsonv2 CGO_ENABLED=0 go_tool trivy "github.com/aquasecurity/trivy/cmd/trivy@v$trivy_version" \
  -ldflags="-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=$trivy_version"

go_build() {  # binary source-dir: rebuilt when a file of its source is newer than the binary
  local name=$1 src="$root/$2"
  if [ ! -x "$tools/bin/$name" ] || [ -n "$(find "$src" -newer "$tools/bin/$name" -type f)" ]; then
    log "go build $name"
    (cd "$src" && go build -o "$tools/bin/$name" .)
  fi
}
go_build referrers-registry tests/support/referrers-registry
go_build trivy-db-builder tests/support/trivy-db

# Real Debian bookworm packages for the layer-scan tests (tests/support/rootfs.py), amd64 and arm64, into
# .cache/debian/<arch>: apt-get with a private state (the system's architectures and lists stay as they are).
debian_packages=(base-files gzip libbz2-1.0 liblzma5 libssl3 libzstd1 zlib1g)
debian_stamp=".stamp.$(printf '%s\n' "${debian_packages[@]}" | sha256sum | cut -c1-12)"
for arch in amd64 arm64; do
  debs="$root/.cache/debian/$arch"
  [ -f "$debs/$debian_stamp" ] && continue
  log "apt-get download (Debian, $arch): ${debian_packages[*]}"
  state="$root/.cache/debian/apt-$arch"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$debs"
  apt_private=(-qq -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o "APT::Architecture=$arch"
               -o "APT::Architectures::=$arch" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get "${apt_private[@]}" update
  rm -f "$debs"/*.deb "$debs"/.stamp.*
  (cd "$debs" && apt-get "${apt_private[@]}" download "${debian_packages[@]}")
  rm -rf "$state"
  touch "$debs/$debian_stamp"
done
log "tools ready in $tools/bin"
