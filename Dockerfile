# image-gate: production-image
# The action's own image. Container actions run as root in the caller's workspace,
# so there is no USER line; the entrypoint path is absolute.

# Trivy, the default scanner, built from source by the go command, which checks the Trivy module, its
# dependencies and the Go toolchain it fetches (GOTOOLCHAIN=auto) against the Go checksum database
# (GOSUMDB left at its default, sum.golang.org). The version is the one scripts/install-tools.sh builds
# for the tests (tests/test_dockerfile.py holds them equal): bump the two together.
ARG TRIVY_VERSION=0.74.0

# Built on the build machine for the target platform: Go cross-compiles, so arm64 is not compiled under
# emulation.
FROM --platform=$BUILDPLATFORM python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254 AS trivy-build
ARG TRIVY_VERSION
ARG TARGETOS
ARG TARGETARCH
# bookworm's golang-go (1.19) predates toolchain switching (Go 1.21); bookworm-backports' has it.
RUN echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends -t bookworm-backports golang-go ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Trivy needs encoding/json/v2 (GOEXPERIMENT=jsonv2); built as its releases are (static, stripped, its
# version stamped in: `go install` alone reports "dev"). A cross-compiled binary lands in bin/OS_ARCH/.
RUN GOTOOLCHAIN=auto GOEXPERIMENT=jsonv2 CGO_ENABLED=0 GOFLAGS=-trimpath GOPATH=/go \
        GOOS="$TARGETOS" GOARCH="$TARGETARCH" \
        go install -ldflags="-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION}" \
        "github.com/aquasecurity/trivy/cmd/trivy@v${TRIVY_VERSION}" \
    && install -D -m 0755 "$(find /go/bin -name trivy -type f)" /opt/trivy/trivy

FROM python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# git lets discover respect .gitignore (tracked + untracked-not-ignored files) in the caller's checkout.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

ARG TRIVY_VERSION
COPY --from=trivy-build /opt/trivy/trivy /usr/local/bin/trivy
RUN trivy --version | grep -qx "Version: ${TRIVY_VERSION}"

COPY pyproject.toml README.md /opt/image-gate/
COPY gate /opt/image-gate/gate
COPY action.yml entrypoint.py /opt/image-gate/
RUN pip install /opt/image-gate

ENTRYPOINT ["/usr/local/bin/python", "/opt/image-gate/entrypoint.py"]
