"""The bench's run: its steps in one list, the quick mode that runs every one of them briefly,
--only's choice of steps and --stack-env's settings for the stack."""

import pytest

from bench.run import STEPS, chosen_steps, parse_args
from bench.steps import stack_env


def chosen(argv: list[str]) -> list[str]:
    return [step.run.__name__ for step in chosen_steps(parse_args(argv))]


def test_the_default_run_has_every_step_in_order():
    assert chosen([]) == [
        "baselines",
        "start_stack",
        "warm_up",
        "gift_sweep",
        "paired_rounds",
        "end_to_end",
        "relays_paused",
        "batch",
        "sustained",
        "backlog",
        "cdc",
        "stored_vs_fresh",
        "memory",
    ]


def test_the_quick_mode_keeps_every_step_and_shrinks_each():
    args = parse_args(["--quick"])
    assert chosen(["--quick"]) == chosen([])
    assert args.levels == [1, 8] and args.seconds <= 3 and args.pairs == 1
    assert args.backlog < 1_000_000 and args.stored_gifts < 2_000_000 and args.sustained_seconds < 60


def test_steps_can_be_left_out():
    assert "cdc" not in chosen(["--no-cdc"])
    assert "stored_vs_fresh" not in chosen(["--stored-gifts", "0"])
    assert parse_args(["--levels", "2,4"]).levels == [2, 4]


def test_only_runs_the_named_steps_with_what_they_need_in_the_runs_order():
    assert chosen(["--only", "sustained"]) == ["baselines", "start_stack", "warm_up", "sustained"]
    assert chosen(["--only", "e2e,batch"]) == [
        "baselines",
        "start_stack",
        "warm_up",
        "gift_sweep",
        "end_to_end",
        "batch",
    ]
    assert chosen(["--only", "stack"]) == ["start_stack"]
    assert chosen(["--quick", "--only", "backlog"]) == ["baselines", "start_stack", "backlog"]


def test_every_step_has_a_short_name_and_needs_only_steps_before_it():
    names = [step.name for step in STEPS]
    assert len(set(names)) == len(names)
    for index, step in enumerate(STEPS):
        assert set(step.needs) <= set(names[:index]), step.name


def test_only_refuses_unknown_steps_and_steps_other_options_leave_out(capsys):
    for argv in (["--only", "sustain"], ["--only", ","], ["--no-cdc", "--only", "cdc"]):
        with pytest.raises(SystemExit):
            parse_args(argv)
    assert "sustain" in capsys.readouterr().err


def test_stack_env_overrides_go_after_the_dropped_kafka_variables():
    args = parse_args(["--stack-env", "KAFKA_LINGER_MS=2", "--stack-env", "LOG_LEVEL=INFO", "--stack-env", "X=a=b"])
    assert args.stack_env == {"KAFKA_LINGER_MS": "2", "LOG_LEVEL": "INFO", "X": "a=b"}
    databases = {name: f"postgresql:///{name}" for name in ("purchase", "gifting", "payout")}
    shell = {"KAFKA_LINGER_MS": "50", "KAFKA_BOOTSTRAP_SERVERS": "elsewhere:9092", "PATH": "/bin"}
    env = stack_env(databases, args.stack_env, shell)
    assert env["KAFKA_LINGER_MS"] == "2" and env["LOG_LEVEL"] == "INFO" and env["PATH"] == "/bin"
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env and env["KAFKA_TOPIC_PREFIX"] == "sys."
    assert stack_env(databases, {}, shell).get("KAFKA_LINGER_MS") is None  # the shell's is dropped
    for bad in ("NOVALUE", "=1", "KAFKA_TOPIC_PREFIX=x."):
        with pytest.raises(SystemExit):
            parse_args(["--stack-env", bad])
