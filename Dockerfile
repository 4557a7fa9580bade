# Storyline service image: CPU-only torch and the bundled model, no network at run time.
# BASE_IMAGE: any Debian-like root with python 3.11 and pip on PATH; scripts/build-image
# makes one with debootstrap where no registry can be reached.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    STORYLINE_HOST=0.0.0.0 \
    STORYLINE_DATABASE_URL=sqlite:////data/storyline.db \
    STORYLINE_ADMIN_KEY_FILE=/data/storyline-admin.key \
    STORYLINE_LOG_FORMAT=json

WORKDIR /srv/storyline

# The CPU wheel first: otherwise sentence-transformers pulls a multi-GB CUDA build.
# PIP_FIND_LINKS: a wheel directory mounted into the build (`-v DIR:/wheels`), searched
# before the index; with TORCH_INDEX_URL=https://pypi.org/simple it supplies the CPU torch.
# PIP_CERT: a CA bundle mounted into the build, for networks behind a TLS-inspecting proxy.
# Neither stays in the image.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_FIND_LINKS=
ARG PIP_CERT=
RUN pip install --no-cache-dir torch==2.13.0 --index-url "${TORCH_INDEX_URL}"

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY clustering ./clustering
COPY embeddings ./embeddings
COPY migrations ./migrations
# The default backend's int8 ONNX export, made once here; the service loads it without torch.
ENV STORYLINE_ONNX_DIR=/srv/storyline/onnx
RUN pip install --no-cache-dir . && rm -rf build storyline.egg-info && storyline prepare

RUN useradd --system --home /srv/storyline storyline \
    && mkdir /data /metrics && chown storyline /data /metrics
USER storyline
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready')"
CMD ["storyline", "serve"]
