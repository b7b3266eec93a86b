"""The run's results: bench/results/<date>.json, a table and the targets printed, and a plot."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"
console = Console()


def write(results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2))
    plot(results, RESULTS / f"{stamp}.png")
    console.print(table(results, f"coins benchmark {stamp} ({results['machine']['cpus']} CPUs)"))
    for line in notes(results):
        console.print(line)
    console.print(f"wrote {RESULTS / (stamp + '.json')} and .png")


def table(results: dict, title: str) -> Table:
    out = Table(title=title)
    for col in ("what", "c", "rate/s", "p50 ms", "p99 ms"):
        out.add_column(col)

    def row(what: str, c, rate, p50="-", p99="-") -> None:
        out.add_row(what, str(c), str(rate), str(p50), str(p99))

    for name in ("B_pg", "B_flask", "gift_api"):
        for x in results.get(name, ()):
            row(name, x["concurrency"], x["rate"], x["p50_ms"], x["p99_ms"])
    if results.get("B_ledger", {}).get("rate"):
        x = results["B_ledger"]
        row("B_ledger (pgbench, transfers)", x["concurrency"], x["rate"], "-", "-")
    if "B_kafka" in results:
        k = results["B_kafka"]
        row("B_kafka", 1, k["end_to_end_rate"], k["p50_ms"], k["p99_ms"])
    for key, label in (("gift_api_relays_paused", "gifts, relays paused"), ("hot_creator", "hot creator")):
        if key in results:
            x = results[key]
            row(label, x["concurrency"], x["rate"], x["p50_ms"], x["p99_ms"])
    if "batch" in results:
        b = results["batch"]
        row(f"batch API (x{b['batch_size']}, per request)", b["concurrency"], b["rate"], b["p50_ms"], b["p99_ms"])
    if "end_to_end" in results:
        e = results["end_to_end"]
        row("gift -> diamonds", e["concurrency"], e["offered_rate"], e["p50_ms"], e["p99_ms"])
    if "sustained" in results:
        s = results["sustained"]
        row(f"sustained e2e, batch ({s['seconds']} s)", s["concurrency"], s["rate"])
    if "cdc" in results:
        c = results["cdc"]
        ce = c["end_to_end"]
        row("gift -> diamonds, Debezium", ce["concurrency"], ce["offered_rate"], ce["p50_ms"], ce["p99_ms"])
        if "sustained" in c:
            row("sustained e2e, Debezium", c["sustained"]["concurrency"], c["sustained"]["rate"])
    if "stored_vs_fresh" in results:
        sf = results["stored_vs_fresh"]
        for which in ("fresh", "stored"):
            x = sf[which]
            label = f"gifts, {sf['seeded']['gifts']:,} stored" if which == "stored" else "gifts, fresh"
            row(label, x["concurrency"], x["rate"], x["p50_ms"], x["p99_ms"])
    if "purchase_to_spendable" in results:
        s = results["purchase_to_spendable"]
        row("purchase -> spendable", "-", "-", s["p50_ms"], s["p99_ms"])
    if "consumer_backlog" in results:
        b = results["consumer_backlog"]
        row(f"payout consumer, backlog of {b['events']:,}", 1, b["rate"])
    return out


def notes(results: dict) -> list[str]:
    lines = []
    if results.get("paired"):
        pr = results["paired"]
        rounds = ", ".join(f"{x['gift_api_rate']:.0f}/{x['B_flask_rate']:.0f}" for x in pr["rounds"])
        hot = ", ".join(f"{x['hot_creator_rate']:.0f}/{x['gift_api_rate']:.0f}" for x in pr["rounds"])
        lines.append(
            f"alternating rounds, gift API (c={pr['gift_api_concurrency']}) / B_flask "
            f"(c={pr['B_flask_concurrency']}): {rounds}; median ratio {pr['median_ratio']}"
        )
        lines.append(f"hot creator / uniform gifts: {hot}; median ratio {pr['median_hot_ratio']}")
    if results.get("batch", {}).get("rounds"):
        b = results["batch"]
        rounds = ", ".join(f"{x['rate']:.0f}/{x['B_flask_rate']:.0f}" for x in b["rounds"])
        lines.append(
            f"alternating rounds, batch API gifts/s / B_flask (c={b['concurrency']}): {rounds}; "
            f"median ratio {b['median_ratio']}"
        )
    for key, path in (("sustained", "relay"), ("cdc", "Debezium")):
        s = results.get(key, {}).get("sustained") if key == "cdc" else results.get(key)
        if s:
            lines += _sustained_notes(s, path)
    for name, t in results["targets"].items():
        figure = t["ratio"] if "ratio" in t else f"worst growth {t['worst_growth_mb']} MB over {t['gifts']} gifts"
        verdict = "INFO" if name.startswith("info_") else "MET " if t["met"] else "MISS"
        lines.append(f"{verdict} {name}: {figure} (target {t['target']})")
    for name, field in (("B_flask", "cpu_ms_per_op"), ("gift_api", "cpu_ms_per_gift")):
        if not results.get(name):
            continue
        best = max(results[name], key=lambda r: r["rate"])
        split = best.get(field, {})
        lines.append(
            f"{name} CPU ms per operation at c={best['concurrency']} (total {sum(split.values()):.2f}): "
            + ", ".join(f"{role} {ms}" for role, ms in split.items())
        )
    lines.append(f"peak memory (MB): {results.get('peak_memory_mb')}")
    return lines


def _sustained_notes(s: dict, path: str) -> list[str]:
    capacity = s.get("capacity", {})
    lines = [
        f"sustained ({path}): capacity {capacity.get('rate')} gifts/s ({capacity.get('measured')}: "
        f"{capacity.get('backlog')} in {capacity.get('seconds')} s)"
    ]
    for i, t in enumerate(s.get("tries", ()), 1):
        verdict = "holds" if t["lag_bounded"] and t["lag_not_growing"] else "fails"
        early = ", stopped early" if t.get("stopped_early") else ""
        lines.append(
            f"  try {i}: offered {t['offered_rate']}/s, accepted and credited {t['rate']}/s over {t['seconds']} s, "
            f"lag max {t['lag_max']} (bound {t['lag_bound']}){early}: {verdict}; lags {t.get('lags')}"
        )
    if not s.get("tries"):
        lines.append(f"  pipeline lag each second: {[x['lag'] for x in s.get('lag_samples', ())]}")
    return lines


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(17, 4.8))
    _throughput(left, results)
    _latency(middle, results)
    _targets(right, results)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _throughput(ax, results: dict) -> None:
    """Rates by client count: the baselines and the single-gift API swept, the batch API at its level."""
    for name in ("B_pg", "B_flask", "gift_api"):
        rows = results.get(name, ())
        ax.plot([r["concurrency"] for r in rows], [r["rate"] for r in rows], marker="o", label=name)
    for key, label, marker in (("batch", "batch API", "*"), ("sustained", "sustained e2e (batch)", "D")):
        if key in results:
            ax.scatter([results[key]["concurrency"]], [results[key]["rate"]], marker=marker, s=90, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel="concurrent clients", ylabel="operations (gifts) / s", title="throughput")
    ax.legend(fontsize=8)


def _latency(ax, results: dict) -> None:
    """p50/p99 of the baselines at their best level and of the pipeline's hops."""
    names = ["B_pg", "B_flask", "gift_api"]
    bars = [(n, max(results[n], key=lambda r: r["rate"])) for n in names if results.get(n)]
    bars += [
        (label, results[key])
        for label, key in (
            ("B_kafka", "B_kafka"),
            ("gift->diamonds", "end_to_end"),
            ("purchase->spendable", "purchase_to_spendable"),
        )
        if key in results
    ]
    if "cdc" in results:
        bars.append(("gift->diamonds\n(Debezium)", results["cdc"]["end_to_end"]))
    xs = range(len(bars))
    ax.bar([x - 0.2 for x in xs], [d["p50_ms"] for _, d in bars], width=0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], [d["p99_ms"] for _, d in bars], width=0.4, label="p99")
    ax.axhline(50, color="grey", linestyle=":", linewidth=1)
    ax.axhline(20, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(list(xs), [n for n, _ in bars], rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="ms", title="latency (at the best concurrency; dotted: 20 and 50 ms)")
    ax.legend()


def _targets(ax, results: dict) -> None:
    """Each target's figure as a share of its bound (>= 1 means met, for either direction)."""
    rows = []
    for name, t in results.get("targets", {}).items():
        if "ratio" not in t:
            continue
        op, bound = t["target"].split()[:2]
        if op not in (">=", "<="):
            continue
        value, bound = t["ratio"], float(bound)
        share = value / bound if op == ">=" else (bound / value if value else 10.0)
        rows.append((name, min(share, 10.0), t["met"], name.startswith("info_")))
    ys = range(len(rows))
    colours = ["grey" if i else "tab:green" if met else "tab:red" for _, _, met, i in rows]
    ax.barh(list(ys), [s for _, s, _, _ in rows], color=colours)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(list(ys), [n for n, _, _, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="figure / target (>= 1: met)", title="targets (grey: information)")
