#!/usr/bin/env bash
# Installs everything the tests, the demo and the benchmarks need, idempotently:
#   Debian: docker-registry (CNCF distribution 2.8), skopeo, apache2-utils (htpasswd)
#   Python: the package with its test extras (editable)
#   Go:     regctl, crane, osv-scanner, cosign, oras, Trivy, our referrers-API test registry and
#           our Trivy test-database builder (trivy-db-builder), built into .cache/tools/bin (ignored by git)
#   Debian: real bookworm packages (amd64, arm64) for the layer-scan tests, into .cache/debian
# Trivy's version is also pinned in the Dockerfile (the action's image): bump the two together.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.cache/tools"
mkdir -p "$tools/bin"

log() { printf 'install-tools: %s\n' "$*" >&2; }

apt_packages=(docker-registry skopeo apache2-utils)
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

stamp="$tools/python.stamp"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || ! python3 -c "import gate, pytest, hypothesis" 2>/dev/null; then
  log "pip install -e .[test]"
  python3 -m pip install -q --disable-pip-version-check -e ".[test]"
  touch "$stamp"
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
