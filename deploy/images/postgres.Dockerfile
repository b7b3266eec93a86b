# PostgreSQL 15 for the container tests where the official image cannot be pulled.
ARG ROOTFS_IMAGE=coins-postgres-rootfs:bookworm
FROM ${ROOTFS_IMAGE}
COPY deploy/images/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /var/lib/postgresql/data \
 && chown -R postgres:postgres /var/lib/postgresql
USER postgres
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres", "-p", "5432"]
