"""`make bench`: baselines then the system, at the same concurrency levels, in one run.

Writes bench/results/<date>.json and <date>.png, prints a table and the targets. Starts and stops
what it needs (PostgreSQL databases, a broker, the whole stack, a Kafka Connect worker); every load
is bounded in count and time and aimed at 127.0.0.1 only. `STEPS` lists the run in order; each
step is a function of `bench.steps` taking the run's context (`bench.context.Run`).

A quick check of every step in a few minutes (figures not meaningful):
    python -m bench.run --quick
Some steps only, with the steps they need (baselines, stack and warm-up for most), and the
stack's processes given settings of your own (after the bench drops the shell's KAFKA_*):
    python -m bench.run --only sustained --stack-env KAFKA_LINGER_MS=2
    python -m bench.run --quick --only batch,e2e
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from rich.progress import Progress

from bench import steps
from bench.context import Run, Step
from bench.pgcluster import OwnCluster
from bench.report import RESULTS, console, write
from bench.targets import targets
from coinsctl.apache_kafka import ApacheKafka
from coinsctl.stack import SERVICES
from shared.clock import utcnow
from tests.support import postgres
from tests.support.broker import free_port

# The run, in order. The stored-gifts step seeds millions of rows: it comes after every step
# that wants the databases as a day's traffic leaves them, before the memory soak. Every measuring
# step needs the baselines: its target is a ratio to one of them.
MEASURED = ("baselines", "warm-up")
STEPS = (
    Step("baselines", "baselines (B_pg, B_flask, B_kafka)", steps.baselines),
    Step("stack", "starting the stack", steps.start_stack),
    Step("warm-up", "warming up and funding the viewers", steps.warm_up, needs=("stack",)),
    Step("sweep", "single-gift API sweep", steps.gift_sweep, needs=MEASURED),
    Step("rounds", "alternating rounds", steps.paired_rounds, needs=("sweep",)),
    Step("e2e", "end-to-end at half the best rate", steps.end_to_end, needs=("sweep",)),
    Step("paused", "gifts with the relays paused", steps.relays_paused, needs=("sweep",)),
    Step("batch", "batch API", steps.batch, needs=MEASURED),
    Step("sustained", "sustained end-to-end on the batch API", steps.sustained, needs=MEASURED),
    Step("backlog", "payout consumer on a backlog", steps.backlog, needs=("baselines", "stack")),
    Step("cdc", "the same on Debezium (CDC)", steps.cdc, needs=("sweep",), when=lambda args: args.cdc),
    Step(
        "stored",
        "gifts with millions stored",
        steps.stored_vs_fresh,
        needs=("sweep",),
        when=lambda args: args.stored_gifts > 0,
    ),
    Step("memory", "memory", steps.memory, needs=("sweep",)),
)


def chosen_steps(args: argparse.Namespace) -> list[Step]:
    """The steps of this run in `STEPS` order: every one, or --only's with what they need."""
    by_name = {step.name: step for step in STEPS}
    wanted = set(by_name) if args.only is None else set()
    todo = list(args.only or ())
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(by_name[name].needs)
    return [step for step in STEPS if step.name in wanted and step.when(args)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--levels", default="1,8,32,64", help="client concurrency levels")
    add("--seconds", type=float, default=8.0, help="seconds per load level")
    add("--max-ops", type=int, default=20_000, help="operations per load level at most")
    add(
        "--e2e-seconds",
        type=float,
        default=30.0,
        help="seconds of single gifts at half rate for gift -> diamonds (its p99 wants thousands of samples)",
    )
    add("--pairs", type=int, default=7, help="alternating B_flask / gift API rounds at the best concurrency")
    add(
        "--batch-pairs",
        type=int,
        default=3,
        help="alternating B_flask / batch API rounds at B_flask's best concurrency",
    )
    add("--backlog", type=int, default=1_000_000, help="gift events queued for the payout consumer's apply rate")
    add(
        "--warm-up-seconds",
        type=float,
        default=90.0,
        help="single gifts before any measured step: the broker's JIT settles (its CPU per gift, in the JSON)",
    )
    add("--sustained-seconds", type=float, default=60.0, help="length of each sustained end-to-end try")
    add(
        "--sustained-share",
        type=float,
        default=0.9,
        help="the sustained run's first try offers this share of the pipeline's capacity (its drain rate, web idle)",
    )
    add(
        "--sustained-tries",
        type=int,
        default=4,
        help="sustained tries at most (searching for the highest rate that holds)",
    )
    add("--stored-gifts", type=int, default=2_000_000, help="gifts seeded for the stored-vs-fresh run (0: skip)")
    add("--soak-gifts", type=int, default=100_000, help="gifts sent while watching every process's memory (0: skip)")
    add("--no-cdc", dest="cdc", action="store_false", help="skip the Debezium (CDC) figures")
    add(
        "--postgres",
        choices=("own", "machine"),
        default="own",
        help="own: a cluster of the bench's own with PostgreSQL's defaults (autovacuum on), started "
        "and removed; machine: the machine's cluster (COINS_TEST_PG_ADMIN_URL) as it is",
    )
    add("--quick", action="store_true", help="every step, briefly: a check of the bench, not a measurement")
    add(
        "--only",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        metavar="STEP[,STEP...]",
        help="these steps and the ones they need, in the run's order; steps: " + ", ".join(s.name for s in STEPS),
    )
    add(
        "--stack-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for every process of the stack (repeatable), set last: it overrides "
        "the bench's own, but not KAFKA_TOPIC_PREFIX nor the broker's address and credentials",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or ()) - {s.name for s in STEPS})
    if unknown or args.only == []:
        parser.error(f"--only: unknown step(s) {', '.join(unknown) or '(none named)'}")
    left_out = [s.name for s in STEPS if s.name in (args.only or ()) and not s.when(args)]
    if left_out:
        parser.error(f"--only names {', '.join(left_out)}, which other options leave out (--no-cdc, --stored-gifts 0)")
    pairs = [item.partition("=") for item in args.stack_env]
    if any(not name or not sep for name, sep, _ in pairs):
        parser.error("--stack-env takes NAME=VALUE")
    if any(name == "KAFKA_TOPIC_PREFIX" for name, _, _ in pairs):
        parser.error("--stack-env: the bench's steps address the stack's topics by its own prefix")
    args.stack_env = {name: value for name, _, value in pairs}
    if args.quick:
        args.levels, args.seconds, args.max_ops, args.pairs, args.batch_pairs = "1,8", 3.0, 3_000, 1, 1
        args.e2e_seconds = 3.0
        args.backlog, args.sustained_seconds, args.stored_gifts, args.soak_gifts = 20_000, 10.0, 200_000, 4_000
        args.sustained_tries = min(args.sustained_tries, 2)
        args.warm_up_seconds = min(args.warm_up_seconds, 10.0)
    args.levels = [int(x) for x in str(args.levels).split(",")]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cluster, pg_settings = start_postgres(args.postgres, cdc=args.cdc)
    try:
        results = measure(args, cluster.admin_url if cluster else None, pg_settings)
    finally:
        if cluster is not None:
            cluster.stop()
    results["targets"] = targets(results)
    write(results)


def measure(args: argparse.Namespace, admin_url: str | None, pg_settings: dict) -> dict:
    """Every step of `STEPS` in order, on the cluster of `admin_url` (None: the machine's)."""
    work = Path(tempfile.mkdtemp(prefix="coins-bench-"))
    databases = {name: postgres.create_database(f"bench_{name}", admin_url) for name in ("pg",) + SERVICES}
    broker = ApacheKafka(work / "broker")
    run = Run(args=args, work=work, admin_url=admin_url, databases=databases, broker=broker)
    run.closers += [lambda: shutil.rmtree(work, ignore_errors=True), broker.stop]  # closed last first
    chosen = chosen_steps(args)
    try:
        broker.start()
        run.results.update(
            date=utcnow().isoformat(),
            machine=machine(),
            levels=args.levels,
            settings={
                "seconds_per_level": args.seconds,
                "max_ops_per_level": args.max_ops,
                "quick": args.quick,
                "steps": [step.name for step in chosen],
                "stack_env": args.stack_env,
                "postgresql": pg_settings,
                "broker": f"{broker.kind} {broker.version()}",
                "gunicorn_workers": os.environ.get("GUNICORN_WORKERS", "2"),
                "gunicorn_threads": os.environ.get("GUNICORN_THREADS", "8"),
            },
        )
        with Progress(console=console, transient=False) as progress:
            task = progress.add_task("benchmark", total=len(chosen))
            run.say = lambda label: progress.update(task, description=label)
            for step in chosen:
                run.say(step.label)
                step.run(run)
                progress.advance(task)
    except BaseException:
        RESULTS.mkdir(parents=True, exist_ok=True)
        partial = RESULTS / f"partial-{datetime.now(UTC):%Y-%m-%dT%H-%M-%SZ}.json"
        partial.write_text(json.dumps(run.results, indent=2, default=str))
        console.print(f"the run failed; what it measured so far: {partial}")
        raise
    finally:
        run.close()
        for url in databases.values():
            postgres.drop_database(url, admin_url)
    return run.results


def start_postgres(which: str, *, cdc: bool = False) -> tuple[OwnCluster | None, dict]:
    """The cluster every baseline and the system run on, and what to record of its settings."""
    if which == "own":
        try:
            cluster = OwnCluster(free_port(), logical=cdc).start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            raise SystemExit(
                f"could not start the bench's own PostgreSQL ({exc}); "
                "BENCH_ARGS='--postgres machine' runs on the machine's cluster as it is"
            ) from exc
        return cluster, {"cluster": "the bench's own", "bindir": str(cluster.bindir), **cluster.settings}
    problem = postgres.ensure_running()
    if problem:
        raise SystemExit(problem)
    with psycopg.connect(postgres.ADMIN_URL) as conn:
        shown = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('autovacuum', 'shared_buffers', 'max_wal_size', 'wal_level')"
            ).fetchall()
        )
    return None, {"cluster": "the machine's", **shown}


def machine() -> dict:
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


if __name__ == "__main__":
    main()
