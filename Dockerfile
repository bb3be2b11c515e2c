# helpdesk-bot: `helpdesk serve` in a slim, non-root image.
#   docker build -t helpdesk-bot .                        # without matplotlib: text handoff chart
#   docker build --build-arg EXTRAS=charts -t helpdesk-bot .   # with the PNG handoff chart
#   docker build --build-arg EXTRAS=postgres -t helpdesk-bot .  # the PostgreSQL store too
# Not built on the machines this project is developed on (no container engine there); hadolint
# checks this file in tests/test_packaging.py. See README, "Operations".

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md NOTICE ./
COPY bot ./bot
ARG EXTRAS=""
RUN python -m venv /opt/helpdesk \
    && /opt/helpdesk/bin/pip install --no-compile ".${EXTRAS:+[$EXTRAS]}" \
    && /opt/helpdesk/bin/pip uninstall --yes pip setuptools
WORKDIR /app
COPY kb ./kb
# Encode the shipped articles once, so the image starts without encoding them (the cache
# lives in the KB folder, read-only at run time).
RUN /opt/helpdesk/bin/helpdesk kb search --kb kb "password expired" > /dev/null

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 helpdesk \
    && useradd --system --uid 10001 --gid helpdesk --no-create-home \
       --home-dir /var/lib/helpdesk --shell /usr/sbin/nologin helpdesk \
    && mkdir -p /var/lib/helpdesk /etc/helpdesk \
    && chown helpdesk:helpdesk /var/lib/helpdesk
COPY --from=build /opt/helpdesk /opt/helpdesk
COPY --from=build /app/kb /app/kb
COPY helpdesk.example.toml /etc/helpdesk/helpdesk.example.toml
ENV PATH=/opt/helpdesk/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HELPDESK_CONFIG=/etc/helpdesk/helpdesk.toml \
    HELPDESK_DATA_DIR=/var/lib/helpdesk \
    HELPDESK_HTTP_HOST=0.0.0.0 \
    HELPDESK_HTTP_PORT=3000 \
    HELPDESK_LOG_FORMAT=json \
    HELPDESK_LOG_LEVEL=INFO
WORKDIR /app
USER 10001:10001
VOLUME ["/var/lib/helpdesk"]
EXPOSE 3000
# Liveness only (the process answers); readiness is GET /readyz, for a load balancer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HELPDESK_HTTP_PORT', '3000') + '/healthz', timeout=4)"]
ENTRYPOINT ["helpdesk"]
CMD ["serve"]
