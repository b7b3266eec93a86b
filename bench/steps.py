"""The steps of a run, in the order bench.run.STEPS lists them. Each takes the run's context and
adds its figures to `run.results` under the keys the JSON has always had (other tooling reads
them)."""

from __future__ import annotations

import os
import statistics
import time

from bench import baselines as base
from bench import cdc as cdc_path
from bench import stored, system
from bench import sustained as sustained_rate
from bench.context import Run, latency_summary, wait_for
from coinsctl.stack import SANDBOXES, SERVICES, Stack
from shared.clock import utcnow
from shared.contracts import PURCHASE_COMPLETED
from tests.support.broker import free_port

HOT_CREATOR = "the-hot-creator"


def baselines(run: Run) -> None:
    """B_pg and B_flask at every level; the bare SQL ledger at B_flask's best client count (the
    batch step's); B_kafka once: what the system is compared with."""
    args, r = run.args, run.results
    base.prepare_pg(run.databases["pg"])
    r["B_pg"] = []
    for level in args.levels:
        run.say(f"B_pg c={level}")
        load = base.b_pg(run.databases["pg"], concurrency=level, seconds=args.seconds, max_ops=args.max_ops)
        r["B_pg"].append(load.summary())
    run.bare = base.BareFlask(run.databases["pg"], free_port(), run.work / "bare.log")
    run.closers.append(run.bare.stop)
    r["B_flask"] = []
    for level in args.levels:
        run.say(f"B_flask c={level}")
        load, cpu = system.cpu_split(
            {"bare flask": run.bare.proc.pid},
            lambda level=level: base.b_flask(run.bare, concurrency=level, seconds=args.seconds, max_ops=args.max_ops),
        )
        r["B_flask"].append({**load.summary(), "cpu_ms_per_op": cpu})
    run.say(f"B_ledger c={run.flask_level}")
    r["B_ledger"] = base.b_ledger(run.databases["pg"], run.work, concurrency=run.flask_level, seconds=args.seconds)
    run.say("B_kafka")
    r["B_kafka"] = base.b_kafka(run.broker.settings("admin"), messages=20_000)


def start_stack(run: Run) -> None:
    """Every service, relay, consumer and sandbox, on the run's broker and databases."""
    run.stack = Stack(
        var_dir=run.work / "stack",
        ports={s: free_port() for s in SERVICES},
        env=stack_env(run.databases, run.args.stack_env, os.environ),
        broker=run.broker,
        restart=False,
        sandbox_ports={n: free_port() for n in SANDBOXES},
    )
    run.closers.append(run.stack.stop)
    run.stack.start()
    run.stack.wait_ready(timeout_s=120)


def stack_env(databases: dict[str, str], overrides: dict[str, str], environ) -> dict[str, str]:
    """The stack's environment: the shell's without its KAFKA_* (the bench's broker, not the
    shell's), the bench's settings, then --stack-env's `overrides` last."""
    return {
        **{k: v for k, v in environ.items() if not k.startswith("KAFKA_")},
        "KAFKA_TOPIC_PREFIX": "sys.",
        "KAFKA_PARTITIONS": "6",
        "LOG_LEVEL": "WARNING",
        **{f"{s.upper()}_DATABASE_URL": databases[s] for s in SERVICES},
        **overrides,
    }


def warm_up(run: Run) -> None:
    """The first events wait for the consumer groups' first join: not what is measured. Then one
    viewer per client is funded, timing purchase -> spendable."""
    purchase, gifting = run.databases["purchase"], run.databases["gifting"]

    def spendable(since) -> list[float]:
        return system.hop_latencies(purchase, gifting, PURCHASE_COMPLETED.topic, since)

    since = utcnow()
    system.fund(run.stack, run.token, ["bench-warm-up"])
    wait_for(lambda: len(spendable(since)) >= 1)
    system.gift_load(run.stack, run.token, ["bench-warm-up"], concurrency=1, seconds=5, max_ops=5)
    run.wait_applied(since, 5)
    run.viewers = [f"bench-viewer-{i}" for i in range(max(run.args.levels))]
    funded_since = utcnow()
    system.fund(run.stack, run.token, run.viewers)
    wait_for(lambda: len(spendable(funded_since)) >= len(run.viewers))
    run.results["purchase_to_spendable"] = latency_summary(spendable(funded_since))
    run.results["warm_up"] = warm_jvm(run, "broker", run.broker.proc.pid)


def warm_jvm(run: Run, name: str, pid: int) -> dict:
    """The broker and Kafka Connect are JVMs: for their first minutes of traffic the JIT compiles
    their hot paths, and their CPU per event falls about fourfold (the broker in bench.pipeline at
    400 events/s: 1.2 ms an event in the first 10 s, 0.3 after 100 s). One in service is long past
    that, so single gifts flow for --warm-up-seconds before its figures are measured; its CPU per
    gift in each 10-second window is recorded, to show where it settled."""
    windows, started = [], time.monotonic()
    while time.monotonic() - started < run.args.warm_up_seconds:
        load, cpu = system.cpu_split({name: pid}, lambda: run.gifts(concurrency=8, seconds=10, max_ops=100_000))
        windows.append({"gifts_per_s": round(load.rate, 1), f"{name}_cpu_ms_per_gift": cpu.get(name, 0.0)})
    wait_for(run.drained, timeout=300)
    return {"seconds": round(time.monotonic() - started, 1), "concurrency": 8, "windows": windows}


def gift_sweep(run: Run) -> None:
    """The single-gift API at every level, with the CPU each process spent per gift."""
    run.results["gift_api"] = []
    for level in run.args.levels:
        run.say(f"gifts c={level}")
        load, cpu = system.cpu_split(
            system.stack_roots(run.stack, run.broker.proc.pid), lambda level=level: run.gifts(concurrency=level)
        )
        run.results["gift_api"].append({**load.summary(), "cpu_ms_per_gift": cpu})


def paired_rounds(run: Run) -> None:
    """The sweeps found each one's best level minutes apart; the ratios come from rounds that
    alternate B_flask, uniform gifts and gifts to one hot creator at those levels, each right
    after the other, the event pipeline drained before each load."""
    best, flask_level = run.best_gift["concurrency"], run.flask_level
    rounds, hot_rounds = [], []
    for index in range(run.args.pairs):
        run.say(f"alternating round {index + 1}/{run.args.pairs}")
        wait_for(run.drained)
        flask = base.b_flask(run.bare, concurrency=flask_level, seconds=run.args.seconds, max_ops=run.args.max_ops)
        gifts, cpu = system.cpu_split(
            system.stack_roots(run.stack, run.broker.proc.pid), lambda: run.gifts(concurrency=best)
        )
        wait_for(run.drained)
        hot = run.gifts(concurrency=best, hot_creator=HOT_CREATOR)
        rounds.append(
            {
                "B_flask_rate": round(flask.rate, 1),
                "gift_api_rate": round(gifts.rate, 1),
                "hot_creator_rate": round(hot.rate, 1),
                "ratio": round(gifts.rate / flask.rate, 3) if flask.rate else 0.0,
                "hot_ratio": round(hot.rate / gifts.rate, 3) if gifts.rate else 0.0,
                "gift_cpu_ms_per_gift": cpu,
            }
        )
        hot_rounds.append(hot.summary())
    if not rounds:  # --pairs 0: one hot round against the sweep
        run.results["hot_creator"] = run.gifts(concurrency=best, hot_creator=HOT_CREATOR).summary()
        return
    run.results["paired"] = {
        "B_flask_concurrency": flask_level,
        "gift_api_concurrency": best,
        "seconds_each": run.args.seconds,
        "rounds": rounds,
        "median_ratio": statistics.median(r["ratio"] for r in rounds),
        "median_hot_ratio": statistics.median(r["hot_ratio"] for r in rounds),
    }
    # The hot creator's figures: its round of median ratio to the uniform gifts beside it.
    middle = sorted(range(len(rounds)), key=lambda i: rounds[i]["hot_ratio"])[len(rounds) // 2]
    run.results["hot_creator"] = hot_rounds[middle]


def end_to_end(run: Run) -> None:
    """Gift -> diamonds at half the single-gift API's best rate (drained first): as many clients
    as at B_flask's best level, each paced so that together they offer half that rate."""
    wait_for(run.drained)
    run.results["end_to_end"] = half_rate_latency(run)


def half_rate_latency(run: Run) -> dict:
    best, clients = run.best_gift["rate"], run.flask_level
    pace = max(0.0, clients / (best / 2) - 1 / max(best, 1))
    since, accepted = utcnow(), {}
    seconds = run.args.e2e_seconds  # longer than a load level: at --seconds (8) one stall decided the p99
    paced = run.gifts(concurrency=clients, pace_s=pace, accepted=accepted, seconds=seconds)
    from_row = run.wait_applied(since, paced.ops)
    figures = {
        "concurrency": clients,
        "seconds": seconds,
        "offered_rate": round(paced.rate, 1),
        "measured": "from the gift's 201 at the client to its event's inbox row in payout's database",
        **latency_summary(
            system.accepted_to_credited(run.databases["gifting"], run.databases["payout"], accepted, since)
        ),
        # Where the time goes: from the outbox row's timestamp (written inside the request, before
        # its commit), and the relay's hop alone (Debezium marks its rows later: not under CDC).
        "from_outbox_row": latency_summary(from_row),
    }
    if not run.on_cdc:
        figures["relay_hop"] = latency_summary(system.relay_latencies(run.databases["gifting"], since))
    return figures


def relays_paused(run: Run) -> None:
    """The gift API with every relay stopped: the web app and its database alone on the CPUs."""
    since = utcnow()
    paused = system.with_relays_paused(run.stack, lambda: run.gifts(concurrency=run.best_gift["concurrency"]).summary())
    run.results["gift_api_relays_paused"] = paused
    run.wait_applied(since, paused["ops"])  # the outboxes drain before the next step


def batch(run: Run) -> None:
    """The batch API against B_flask at B_flask's best client count, in rounds that alternate the
    two (the pipeline drained before each, the backlog each batch leaves drained with the web idle
    and timed: the pipeline's capacity), as the single-gift ratio is measured: a B_flask figure
    taken minutes earlier moves the ratio by a tenth on a shared machine. The figures are those of
    the round of median ratio, beside every round's."""
    from bench.batch import batch_load

    level, pairs, rounds = run.flask_level, max(1, run.args.batch_pairs), []
    for index in range(pairs):
        run.say(f"batch round {index + 1}/{pairs}")
        wait_for(run.drained)
        flask = base.b_flask(run.bare, concurrency=level, seconds=run.args.seconds, max_ops=run.args.max_ops)
        load, cpu = system.cpu_split(
            system.stack_roots(run.stack, run.broker.proc.pid),
            lambda: batch_load(
                run.stack,
                run.token,
                run.viewers,
                concurrency=level,
                seconds=run.args.seconds,
                max_ops=run.args.max_ops * 1000,
            ),
        )
        rounds.append(
            {
                **load.summary(),
                "batch_size": 1000,
                "note": "ops: gifts created; latency: per request",
                "cpu_ms_per_gift": cpu,
                "B_flask_rate": round(flask.rate, 1),
                "ratio": round(load.rate / flask.rate, 3) if flask.rate else 0.0,
                "drain": sustained_rate.timed_drain(run),
            }
        )
    middle = _median_round(rounds)
    run.results["batch"] = {**middle, "median_ratio": middle["ratio"]}


def _median_round(rounds: list[dict]) -> dict:
    """Of rounds each paired with a B_flask round (`ratio`: the load's rate over B_flask's), the
    one of median ratio, with every round's B_flask rate, rate and ratio beside it."""
    middle = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    return {**middle, "rounds": [{k: r[k] for k in ("B_flask_rate", "rate", "ratio")} for r in rounds]}


def sustained(run: Run) -> None:
    """The highest rate of gifts accepted and credited over --sustained-seconds with the lag
    bounded and not growing (bench.sustained), from the capacity the batch step's drain timed
    (a probe of its own when the batch step did not run)."""
    drain = run.results.get("batch", {}).get("drain")
    if drain and drain["backlog"] >= sustained_rate.MIN_BACKLOG:
        capacity = {"measured": "the batch step's backlog drained", **drain}
    else:
        capacity = sustained_rate.probe(run)
    run.results["sustained"] = sustained_rate.sustained(run, capacity)


def backlog(run: Run) -> None:
    """The payout consumer started on a backlog of --backlog gift events."""
    run.say(f"payout consumer on a backlog of {run.args.backlog}")
    run.results["consumer_backlog"] = system.backlog_apply_rate(
        run.stack, run.broker.settings("admin", topic_prefix="sys."), run.databases["payout"], run.args.backlog
    )
    run.injected += run.args.backlog


def cdc(run: Run) -> None:
    """Gifting's outbox moved to Debezium: end-to-end at half rate and sustained, then back."""
    with cdc_path.on_debezium(run) as connect:
        wait_for(run.drained, timeout=300)
        figures = {"warm_up": warm_jvm(run, "connect", connect.proc.pid)}  # as the broker was: it starts cold
        figures["end_to_end"] = half_rate_latency(run)
        wait_for(run.drained, timeout=600)
        figures["sustained"] = sustained_rate.sustained(run, sustained_rate.probe(run))
    run.results["cdc"] = {"services": list(cdc_path.SERVICES_ON_CDC), **figures}


def stored_vs_fresh(run: Run) -> None:
    """The single-gift API on the databases as they are, then with millions of gifts stored. The
    two cannot alternate (seeding is one way, and takes minutes), so each side is a few rounds,
    each a B_flask round then a gift round, the pipeline drained before each: the figure is the
    median gift/B_flask ratio stored over the same fresh. A rate alone drifts with the shared
    machine between the sides (B_flask's own rate moved by 40% within one run: 556 to 781/s);
    the paired ratio carries only the drift within a round."""
    level, rounds, args = run.best_gift["concurrency"], max(1, min(5, run.args.pairs)), run.args

    def side() -> dict:
        paired = []
        for _ in range(rounds):
            wait_for(run.drained, timeout=600)
            flask = base.b_flask(run.bare, concurrency=run.flask_level, seconds=args.seconds, max_ops=args.max_ops)
            load = run.gifts(concurrency=level).summary()
            ratio = round(load["rate"] / flask.rate, 3) if flask.rate else 0.0
            paired.append({**load, "B_flask_rate": round(flask.rate, 1), "ratio": ratio})
        return _median_round(paired)

    fresh = side()
    run.say(f"seeding {run.args.stored_gifts} stored gifts")
    seeded = stored.seed(run.databases, run.args.stored_gifts)
    with_stored = side()
    run.results["stored_vs_fresh"] = {
        "concurrency": level,
        "fresh": fresh,
        "stored": with_stored,
        "seeded": seeded,
    }


def memory(run: Run) -> None:
    """Every process's memory over --soak-gifts gifts (0: no soak), then each one's peak."""
    if run.args.soak_gifts:
        run.results["memory_soak"] = system.soak(
            run.stack, run.token, run.viewers, gifts=run.args.soak_gifts, concurrency=run.best_gift["concurrency"]
        )
    run.results["peak_memory_mb"] = system.memory_mb(run.stack)
