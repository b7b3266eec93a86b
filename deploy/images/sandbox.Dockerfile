# The sandbox card and payout processors (test doubles reached over HTTP like real processors):
#   docker run coins-sandbox card     # or: payout; state in /data (a SQLite file each)
ARG BASE_IMAGE=python:3.11.13-slim-bookworm

# The same dependency stage as deploy/Dockerfile (built once for all the images): see there.
FROM ${BASE_IMAGE} AS build
COPY requirements.lock deploy/.build/pip-ca.pe[m] /tmp/build/
RUN python3 -m venv /opt/venv \
 && if [ -f /tmp/build/pip-ca.pem ]; then export PIP_CERT=/tmp/build/pip-ca.pem; fi \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
      -r /tmp/build/requirements.lock

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT=8000 \
    CARD_SANDBOX_DB=/data/card-sandbox.db PAYOUT_SANDBOX_DB=/data/payout-sandbox.db
RUN groupadd --system --gid 10001 coins && useradd --system --uid 10001 --gid coins --no-create-home coins \
 && mkdir /data && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY sandboxes sandboxes
# gunicorn's settings and JSON logging are the services' own (shared.http.gunicorn_conf and what it imports)
COPY shared shared
RUN python3 -m compileall -q /app
USER 10001:10001
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python3 -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health/live', timeout=2)"
ENTRYPOINT ["sh", "-c", "GUNICORN_BIND=${BIND_HOST:-0.0.0.0}:$PORT exec gunicorn -c python:shared.http.gunicorn_conf sandboxes.${0:-card}:app"]
CMD ["card"]
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="coins-sandbox" \
      org.opencontainers.image.description="The coins platform's sandbox card and payout processors (test doubles)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
