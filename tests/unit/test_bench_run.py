"""The bench's run: its steps in one list, and the quick mode that runs every one of them briefly."""

from bench.run import STEPS, parse_args


def chosen(argv: list[str]) -> list[str]:
    args = parse_args(argv)
    return [step.run.__name__ for step in STEPS if step.when(args)]


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
