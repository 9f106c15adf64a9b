# syntax=docker/dockerfile:1
# smsgateway container image: `docker build -t smsgateway:0.1.0 .`
# Two stages: the first builds the wheel and a virtualenv, the second carries only that
# virtualenv on the same slim Python base (no compilers, no pip cache, no sources).

# Pinned by version (override with --build-arg PYTHON_IMAGE=...@sha256:<digest> to pin by digest).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from (see .dockerignore).
COPY pyproject.toml README.md ./
COPY server ./server
# The generated API package (smsgateway.v1), a distribution of its own the server needs.
COPY clients/python/api ./clients/python/api
# Every dependency ships manylinux wheels: --only-binary fails the build instead of silently
# needing a compiler. pip and setuptools are not needed at run time.
RUN python -m venv /opt/smsgateway \
 && python -m pip wheel --no-deps --wheel-dir /wheels . ./clients/python/api \
 && /opt/smsgateway/bin/pip install --only-binary=:all: /wheels/smsgateway-*.whl /wheels/smsgateway_api-*.whl \
 && /opt/smsgateway/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="smsgateway" \
      org.opencontainers.image.description="gRPC facade in front of the SMS provider's HTTP API v1.0"
ENV PATH=/opt/smsgateway/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SMSGW_DATA_DIR=/var/lib/smsgateway
# A fixed numeric uid/gid, so Kubernetes can check runAsNonRoot and fsGroup can match.
RUN groupadd --system --gid 10001 smsgateway \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin smsgateway \
 && mkdir -p /var/lib/smsgateway \
 && chown 10001:10001 /var/lib/smsgateway
COPY --from=build /opt/smsgateway /opt/smsgateway
USER 10001:10001
WORKDIR /var/lib/smsgateway
# gRPC API, push callbacks + /healthz, Prometheus /metrics.
EXPOSE 50051 8080 9090
ENTRYPOINT ["smsgateway"]
CMD ["serve"]
