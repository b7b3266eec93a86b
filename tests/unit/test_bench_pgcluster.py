"""The bench's own PostgreSQL cluster: started with autovacuum on, reachable, removed after."""

import psycopg
import pytest

from bench import pgcluster
from tests.support.broker import free_port


@pytest.mark.skipif(pgcluster.bindir() is None, reason="PostgreSQL's server binaries are not installed")
def test_the_bench_runs_on_a_cluster_of_its_own_with_autovacuum_on():
    cluster = pgcluster.OwnCluster(free_port()).start()
    try:
        with psycopg.connect(cluster.admin_url) as conn:
            assert conn.execute("SHOW autovacuum").fetchone()[0] == "on"
            assert conn.execute("SHOW shared_buffers").fetchone()[0] == pgcluster.SETTINGS["shared_buffers"]
            assert conn.execute("SHOW port").fetchone()[0] == str(cluster.port)
    finally:
        cluster.stop()
    assert not cluster.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.admin_url, connect_timeout=2)
