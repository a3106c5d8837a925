# loyalsync daemon: one image for every machine of an agency. Nothing about a shop is inside:
# the config (/config/loyalsync.yaml), its secrets (--env-file, or /config/.env next to the
# config) and the mirrors (/data) are mounted. Everything is installed at build time; the
# container downloads nothing when it runs and talks only to the shops in its config.
# CI does not build it (`make test` never needs it).
#
#   docker build -t loyalsync .
#   docker run -d --name loyalsync --restart unless-stopped --stop-timeout 120 \
#     --env-file /etc/loyalsync/machine-1.env \
#     -v /etc/loyalsync/machine-1.yaml:/config/loyalsync.yaml:ro \
#     -v /var/lib/loyalsync:/data loyalsync
#
# with `database: /data/{shop}.db` in the config (one mirror and lock per shop).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY loyalsync ./loyalsync
COPY core ./core
COPY sync ./sync
COPY connectors ./connectors
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/opt/loyalsync/matplotlib \
    LOYALSYNC_CONFIG=/config/loyalsync.yaml
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels loyalsync \
    && rm -rf /wheels \
    && mkdir -p /opt/loyalsync/matplotlib /data /config \
    && python -c "import matplotlib.pyplot" \
    && useradd --system --uid 10001 --no-create-home --home-dir /data loyalsync \
    && chown loyalsync /data \
    && chmod -R a+rX /opt/loyalsync
USER loyalsync
WORKDIR /data
VOLUME ["/data"]
# SIGTERM: running pulls commit their current page and stop; give them time (--stop-timeout)
STOPSIGNAL SIGTERM
ENTRYPOINT ["loyalsync"]
CMD ["--log-format", "json", "daemon"]
