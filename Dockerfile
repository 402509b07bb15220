# doc-nmt: one image for both `nmt train` and `nmt serve` (CPU only).
#   docker build -t doc-nmt:latest .
#   docker run --rm doc-nmt:latest --help
# docker-compose.yml uses it for the one-shot `train` service and the `server` replicas.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# SWORD Bible modules (WEB, Reina-Valera 1909) and mod2imp, read by `nmt prepare bible`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends sword-text-web sword-text-sparv libsword-utils \
    && rm -rf /var/lib/apt/lists/*

# torch first, pinned, from the CPU index: the project's `torch==2.13.0` requirement is then
# already satisfied (2.13.0+cpu), so pip never pulls a multi-gigabyte CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY translator/ translator/
COPY corpora/ corpora/
COPY evaluation/ evaluation/
COPY training/ training/
COPY server/ server/
COPY nmt/ nmt/
COPY configs/ configs/
COPY scripts/ scripts/
COPY docs/ docs/
COPY proto/ proto/
RUN pip install --no-cache-dir . \
    && rm -rf build *.egg-info

# Run as an unprivileged user. /data and /runs exist and belong to it, so the named volumes
# docker-compose.yml mounts there start out writable by it (Docker copies the ownership).
RUN useradd --create-home --uid 10001 --user-group nmt \
    && mkdir -p /data /runs \
    && chown nmt:nmt /data /runs
USER nmt

# gRPC, Prometheus /metrics
EXPOSE 50051 9464

ENTRYPOINT ["nmt"]
CMD ["--help"]
