"""Where the tests take PostgreSQL and Kafka from (tests.support.infra): asked for, or chosen by the rule."""

from __future__ import annotations

import pytest

from tests.support import infra


@pytest.fixture
def machine(monkeypatch):
    """What the rule looks at, set per case: root, a host ready for the tests, a Docker engine."""
    state = {"root": False, "host": False, "docker": False}
    monkeypatch.setattr(infra.os, "geteuid", lambda: 0 if state["root"] else 1000)
    monkeypatch.setattr(infra, "host_ready", lambda: state["host"])
    monkeypatch.setattr(infra, "docker_answers", lambda: state["docker"])
    return state


@pytest.mark.parametrize(
    ("root", "host", "docker", "chosen"),
    [
        (True, False, True, "host"),  # CI: root installs and starts them on the host
        (False, True, True, "host"),  # a developer with PostgreSQL and Java: faster, nothing to build
        (False, False, True, "containers"),  # Docker and Python only, no root
        (False, False, False, "host"),  # nothing: the host path's checks say what is missing
    ],
)
def test_auto_takes_the_host_where_it_can_run_else_containers(machine, root, host, docker, chosen):
    machine.update(root=root, host=host, docker=docker)
    assert infra.choose({}) == infra.choose({"COINS_TEST_INFRA": "auto"}) == chosen


def test_an_explicit_choice_is_kept_and_a_wrong_one_refused(machine):
    machine.update(root=True, host=True, docker=True)
    assert infra.choose({"COINS_TEST_INFRA": "containers"}) == "containers"
    machine.update(root=False, host=False, docker=True)
    assert infra.choose({"COINS_TEST_INFRA": "host"}) == "host"
    with pytest.raises(ValueError, match="COINS_TEST_INFRA"):
        infra.choose({"COINS_TEST_INFRA": "docker"})


def test_a_free_port_is_never_handed_out_twice_by_one_process(monkeypatch):
    """A stack picks its services' and sandboxes' ports before any of them binds: a port picked
    twice would leave one process unable to listen and its requests answered by the other."""
    from coinsctl import broker

    first = broker.free_port()
    randrange = broker.random.randrange
    picks = iter([first, first, first])  # then random ones again
    monkeypatch.setattr(broker.random, "randrange", lambda *args: next(picks, None) or randrange(*args))
    assert broker.free_port() != first
    assert next(picks, None) is None, "the port handed out before was picked and passed over"
