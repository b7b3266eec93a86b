"""Every `coinsctl` and `make` command line the README, docs/ and `make run`'s banner print works
when copied: its subcommands, options, choices and required options are the real CLI's (parsed
by click exactly as a run would, without running it), and each `make` target exists."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from types import SimpleNamespace

import click
import pytest

from coinsctl.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# What the docs write for "fill in yours", and a value a real run could be given (<placeholders>:
# _placeholder).
SAMPLES = {
    "ID": "wd_01HZX",
    "KID": "gateway-20261124T100000Z",
    "NAME": "gateway",
    "CREATOR": "carol",
    "SERVICE": "gifting",
    "T": "gift.sent.v1",
    "HOST:9091": "pushgateway:9091",
    "...": "sample",
}


def _fenced_lines(text: str) -> list[str]:
    """The command lines of the ```sh blocks (continuation lines joined)."""
    lines, inside, pending = [], False, ""
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```sh"
            continue
        if inside:
            pending += line.rstrip()
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            lines.append(pending)
            pending = ""
    return lines


def _inline_spans(text: str) -> list[str]:
    """The `code spans` of the prose (outside fenced blocks), line breaks inside a span joined."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:  # an unbalanced quote in prose: not a command line
        return []


def _placeholder(match: re.Match) -> str:
    """`<time before the loss>`, `<service>`: one sample word."""
    name = match.group(1)
    if "time" in name:
        return "2026-11-24T10:00:00"
    return {"topic": "gift.sent.v1", "pid": "4242"}.get(name, "gifting" if name in ("service", "producer") else "x")


def _invocations(line: str, program: str) -> list[list[str]]:
    """Each `program ...` in a line, its arguments up to a shell separator or a "(" aside,
    optional [parts] taken as given, `a|b` alternatives each tried, placeholders given samples."""
    line = re.sub(r"<([^<>]+)>", _placeholder, line.replace("$(", " ").replace(")", " "))
    words = _words(line)
    found = []
    for at, word in enumerate(words):
        if word != program and not word.endswith(f"/{program}"):
            continue
        args = []
        for arg in words[at + 1 :]:
            if arg in ("|", "||", "&&", ";") or arg.startswith("("):
                break
            args.append(arg)
        args = [a for a in (arg.strip("[]") for arg in args) if a]
        if not args or args[0] == "...":  # "coinsctl ..." names the tool, not a command
            continue
        found.extend([SAMPLES.get(a, a) for a in alt] for alt in _alternatives(args))
    return found


def _alternatives(args: list[str]) -> list[list[str]]:
    for at, arg in enumerate(args):
        if "|" in arg:
            return [alt for choice in arg.split("|") for alt in _alternatives([*args[:at], choice, *args[at + 1 :]])]
    return [args]


def _documented(program: str) -> list[tuple[str, list[str]]]:
    """(where, args) of each command line; `where` says "prose" for a `code span` in a sentence."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        for kind, lines in (("", _fenced_lines(text)), ("prose ", _inline_spans(text))):
            for line in lines:
                for args in _invocations(line, program):
                    found.append((f"{path.relative_to(ROOT)} {kind}: {line.strip()[:100]}", args))
    return found


def _once(found: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Each distinct command line once (where it first appears)."""
    return list({tuple(args): (where, args) for where, args in reversed(found)}.values())[::-1]


def _banner_lines() -> list[str]:
    """What `make run` prints when the stack is up (coinsctl.stack's own banner)."""
    import contextlib
    import io

    from coinsctl.stack import _banner

    stack = SimpleNamespace(
        url=lambda service: "http://127.0.0.1:8001",
        sandbox_ports={"card": 8004, "payout": 8005},
        sandbox_url=lambda name: "http://127.0.0.1:8004",
        broker=None,
        env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"},
        var_dir=Path("var"),
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _banner(stack)
    return out.getvalue().splitlines()


def parse(args: list[str]) -> click.Context:
    """Parse as `coinsctl ARGS` would, down to the leaf command, without running anything:
    unknown commands or options, bad choices and missing required options raise."""
    ctx = main.make_context("coinsctl", list(args))
    command = main
    while isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            raise click.UsageError(f"{ctx.command_path} needs a command", ctx)
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return ctx


COINSCTL = _once(_documented("coinsctl")) + [
    (f"make run banner: {line.strip()}", args) for line in _banner_lines() for args in _invocations(line, "coinsctl")
]
MAKE = _once(_documented("make")) + [
    (f"make run banner: {line.strip()}", args) for line in _banner_lines() for args in _invocations(line, "make")
]


def test_the_documents_and_the_banner_do_document_commands():
    """The extraction finds what is there (else the tests below would pass on nothing)."""
    assert len(COINSCTL) >= 30 and len(MAKE) >= 8
    assert any(where.startswith("make run banner") for where, _ in COINSCTL)
    assert any(where.startswith("make run banner") for where, _ in MAKE)
    assert {"audit", "dlq", "purchases", "payouts", "outbox", "token", "keys"} <= {a[0] for _, a in COINSCTL}


@pytest.mark.parametrize(("where", "args"), COINSCTL, ids=[" ".join(a) for _, a in COINSCTL])
def test_each_documented_coinsctl_line_parses_against_the_cli(where, args):
    try:
        parse(args)
    except click.MissingParameter as exc:
        # A sentence may name a command without its arguments ("`coinsctl prune` windows"): a
        # mention, not a line to copy. One with any option or argument must be complete.
        mention = " prose :" in where and not any(a.startswith("-") for a in args)
        if not mention:
            pytest.fail(f"{where}\n  coinsctl {' '.join(args)}\n  {exc.format_message()}")
    except click.ClickException as exc:
        pytest.fail(f"{where}\n  coinsctl {' '.join(args)}\n  {exc.format_message()}")


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


@pytest.mark.parametrize(("where", "args"), MAKE, ids=[" ".join(a) for _, a in MAKE])
def test_each_documented_make_line_names_a_target_and_its_coinsctl_lines_parse(where, args):
    targets = [a for a in args if "=" not in a and not a.startswith("-")]
    assert targets, where
    missing = set(targets) - _make_targets()
    assert not missing, f"{where}: no make target {sorted(missing)}"
    # What make would run (-n: printed, not run); a coinsctl line in it must parse too.
    planned = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert planned.returncode == 0, f"{where}: {planned.stderr}"
    for line in planned.stdout.splitlines():
        for coinsctl_args in _invocations(line, "coinsctl"):
            parse(coinsctl_args)


def test_a_line_missing_a_required_option_or_naming_an_unknown_one_is_caught():
    """The check can fail: the banner's old token line, a misspelt option, a bad choice."""
    for wrong in (
        ["token", "--caller", "gateway"],
        ["lag", "--servce", "payout"],
        ["prune", "everything"],
        ["dlq", "lists"],
    ):
        with pytest.raises(click.UsageError):
            parse(wrong)
    assert _invocations("x=$(.venv/bin/coinsctl token --service gifting)  # note", "coinsctl") == [
        ["token", "--service", "gifting"]
    ]
    assert _invocations("coinsctl purchases resolve ID --complete|--decline", "coinsctl") == [
        ["purchases", "resolve", "wd_01HZX", "--complete"],
        ["purchases", "resolve", "wd_01HZX", "--decline"],
    ]


@pytest.mark.parametrize(
    ("option", "variable"),
    [
        ("purchase_url", "COINS_AUDIT_PURCHASE_URL"),
        ("gifting_url", "COINS_AUDIT_GIFTING_URL"),
        ("payout_url", "COINS_AUDIT_PAYOUT_URL"),
        ("card_processor_url", "PURCHASE_PROCESSOR_URL"),
        ("payout_processor_url", "PAYOUT_PROCESSOR_URL"),
    ],
)
def test_the_audit_takes_each_url_from_its_variable_so_a_pod_needs_no_flags(monkeypatch, option, variable):
    monkeypatch.delenv(variable, raising=False)
    assert parse(["audit"]).params[option].startswith("http://127.0.0.1:")
    monkeypatch.setenv(variable, "http://in-the-cluster")
    assert parse(["audit"]).params[option] == "http://in-the-cluster"
    assert parse(["audit", f"--{option.replace('_', '-')}", "http://flag"]).params[option] == "http://flag"


def test_the_audit_cronjob_runs_plain_coinsctl_audit_with_the_services_urls_from_its_environment(monkeypatch):
    import yaml

    objects = {
        (o["kind"], o["metadata"]["name"]): o
        for o in yaml.safe_load_all((ROOT / "deploy/k8s/base/common.yaml").read_text())
    }
    [job] = objects[("CronJob", "coins-audit")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert job["args"][:2] == ["coinsctl", "audit"]
    environ = dict(objects[("ConfigMap", "coins-audit")]["data"])
    environ.update({e["name"]: "http://processor" for e in job.get("env", []) if e["name"].endswith("_PROCESSOR_URL")})
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    params = parse(job["args"][1:]).params
    assert {params[f"{s}_url"] for s in ("purchase", "gifting", "payout")} == {
        "http://purchase",
        "http://gifting",
        "http://payout",
    }
    assert params["card_processor_url"] == params["payout_processor_url"] == "http://processor"
