# Apache Kafka (KRaft, one node) from the jars on Maven Central (deploy/kafka/pom.xml), on Debian's
# JRE: what the container tests and deploy/compose.yaml run where no registry image can be pulled.
# Clients authenticate with SCRAM (KAFKA_USERS: principal -> password) and are held to ACLs.
ARG ROOTFS_IMAGE=coins-jre-rootfs:bookworm
FROM ${ROOTFS_IMAGE}
COPY deploy/.build/kafka-jars/ /opt/kafka/libs/
COPY deploy/kafka/log4j2.properties /opt/coins/deploy/kafka/log4j2.properties
COPY coinsctl/__init__.py coinsctl/broker.py coinsctl/jvm.py coinsctl/apache_kafka.py coinsctl/settings.py /opt/coins/coinsctl/
COPY shared/__init__.py shared/env.py /opt/coins/shared/
COPY shared/kafka/__init__.py shared/kafka/settings.py /opt/coins/shared/kafka/
RUN useradd --system --uid 10003 --home-dir /var/lib/kafka kafka && mkdir -p /var/lib/kafka \
 && chown kafka /var/lib/kafka
USER 10003
ENV COINS_KAFKA_JARS=/opt/kafka/libs KAFKA_HOME=/var/lib/kafka PYTHONPATH=/opt/coins \
    KAFKA_PORT=9092 KAFKA_CONTROLLER_PORT=9093
VOLUME /var/lib/kafka
# A loaded host may take minutes to start the JVM: failures in the start period do not count, and
# the first pass makes it healthy at once.
HEALTHCHECK --interval=5s --timeout=5s --start-period=180s --retries=6 \
  CMD ["python3", "-c", "import os,socket; socket.create_connection(('127.0.0.1', int(os.environ['KAFKA_PORT'])), 3)"]
ENTRYPOINT ["python3", "-m", "coinsctl.apache_kafka"]
