# image-gate: production-image
# The action's own image. Container actions run as root in the caller's workspace,
# so there is no USER line; the entrypoint path is absolute.
FROM python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md /opt/image-gate/
COPY gate /opt/image-gate/gate
COPY action.yml entrypoint.py /opt/image-gate/
RUN pip install /opt/image-gate

ENTRYPOINT ["/usr/local/bin/python", "/opt/image-gate/entrypoint.py"]
