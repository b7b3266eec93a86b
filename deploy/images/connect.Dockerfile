# Kafka Connect (distributed mode) with Debezium's PostgreSQL connector and outbox event router, from
# the jars on Maven Central (deploy/connect/pom.xml), on Debian's JRE: the CDC path (coinsctl.cdc).
# deploy/build-images.sh builds it beside the broker's image (BUILD_CONNECT_IMAGE=0 skips it).
ARG ROOTFS_IMAGE=coins-jre-rootfs:bookworm
FROM ${ROOTFS_IMAGE}
COPY deploy/.build/connect-jars/ /opt/connect/libs/
COPY deploy/kafka/log4j2.properties /opt/coins/deploy/kafka/log4j2.properties
COPY coinsctl/__init__.py coinsctl/broker.py coinsctl/jvm.py coinsctl/connect_worker.py coinsctl/settings.py /opt/coins/coinsctl/
COPY shared/__init__.py shared/env.py /opt/coins/shared/
RUN useradd --system --uid 10004 --home-dir /var/lib/connect connect && mkdir -p /var/lib/connect \
 && chown connect /var/lib/connect
USER 10004
# Its state is in Kafka (the connect-configs, -offsets and -status topics): the directory holds only
# the worker's properties, written at start from the environment.
ENV COINS_CONNECT_JARS=/opt/connect/libs COINS_VAR_DIR=/var/lib/connect PYTHONPATH=/opt/coins \
    CONNECT_REST_HOST=0.0.0.0 CONNECT_REST_PORT=8083
HEALTHCHECK --interval=10s --timeout=5s --start-period=90s \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8083/connectors', timeout=3)"]
ENTRYPOINT ["python3", "-m", "coinsctl.connect_worker"]
