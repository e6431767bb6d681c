# The training worker: a Celery worker on the "training" queue with torch, Optuna and the app.
#
#   docker build -f docker/training-worker.Dockerfile -t radlabel-training-worker .
#   docker run --gpus all -e DATABASE_URL=... -e CELERY_BROKER_URL=redis://... \
#       -e RADLABEL_VAR_DIR=/var/radlabel -v radlabel-var:/var/radlabel radlabel-training-worker
#
# CPU by default (torch's CPU wheel, as the Makefile installs). For GPUs, build with
#   --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
# The trainer picks the GPU itself when torch sees one (mixed precision), and a job with
# "processes" > 1 launches torchrun inside the container (NCCL on GPUs, gloo on CPUs).
# Not built in this repository's CI: the development machines have no Docker daemon
# (docs/TRAINING.md, "Scale-out").
FROM python:3.11-slim-bookworm

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    RADLABEL_VAR_DIR=/var/radlabel \
    TRAINING_THREADS=2

RUN apt-get update \
    && apt-get install -y --no-install-recommends git libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 radlabel \
    && mkdir -p /var/radlabel && chown radlabel /var/radlabel

WORKDIR /app
# torch first and on its own pin (any other spec pulls a different build), then the pinned rest.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"
COPY pyproject.toml requirements/constraints.txt ./requirements/
RUN cp requirements/pyproject.toml . \
    && pip install --no-cache-dir -c requirements/constraints.txt \
       $(python -c "import tomllib; print(' '.join(d for d in tomllib.load(open('pyproject.toml','rb'))['project']['dependencies'] if not d.startswith('torch')))")
COPY . .
RUN pip install --no-cache-dir --no-deps -e .

USER radlabel
VOLUME ["/var/radlabel"]
# One trial at a time per container (prefork of 1): scale out with more containers or hosts;
# each claims trial slots from the database, so they share a job's trials.
CMD ["celery", "-A", "config", "worker", "-Q", "training", "--concurrency", "1", "--prefetch-multiplier", "1", "-l", "INFO", "-n", "training@%h"]
