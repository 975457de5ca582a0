# image-gate: production-image
# The action's own image. Container actions run as root in the caller's workspace,
# so there is no USER line; the entrypoint path is absolute.
FROM python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# git lets discover respect .gitignore (tracked + untracked-not-ignored files) in the caller's checkout.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Trivy, the default scanner: a pinned release whose archive checksum is verified before it is unpacked.
# sha256 of the v0.62.1 release assets, as pinned in public checksum lock files and setup-trivy workflows.
ARG TRIVY_VERSION=0.62.1
ARG TARGETARCH=amd64
RUN set -eu; \
    case "${TARGETARCH}" in \
      amd64) asset=Linux-64bit; sum=7da92b2ca503d08eb15e717585fa4ffb95ef2c5dc4c554204882d7d26d386a6a ;; \
      arm64) asset=Linux-ARM64; sum=50e13c5cdd3e3b610e0dc554e3bc58bc6f58eabe3e42a6b28961a23ac6eff0df ;; \
      *) echo "no pinned Trivy for ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    archive="trivy_${TRIVY_VERSION}_${asset}.tar.gz"; \
    python -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
      "https://github.com/aquasecurity/trivy/releases/download/v${TRIVY_VERSION}/${archive}" "/tmp/${archive}"; \
    echo "${sum}  /tmp/${archive}" | sha256sum -c -; \
    tar -xzf "/tmp/${archive}" -C /usr/local/bin trivy; \
    rm "/tmp/${archive}"; \
    trivy --version

COPY pyproject.toml README.md /opt/image-gate/
COPY gate /opt/image-gate/gate
COPY action.yml entrypoint.py /opt/image-gate/
RUN pip install /opt/image-gate

ENTRYPOINT ["/usr/local/bin/python", "/opt/image-gate/entrypoint.py"]
