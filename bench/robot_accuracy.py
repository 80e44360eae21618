"""How well robots are told from people: ours beside flufl.bounce alone and the header rules alone.

Every message of tests/data/corpus is classed four ways, in the same run:

* ediscuss: ``parse_message`` (header rules, flufl.bounce behind a machine-made
  gate, and our own failure-notice layouts);
* header rules alone: ``classify`` on the same parsed headers;
* flufl.bounce alone: a bounce when its detectors name a failed recipient,
  else a person's mail (it knows no auto-replies);
* rules + flufl.bounce: the rules' class, a bounce whenever flufl names one.

Also counted: bounces whose failed recipients are exactly right (ours, and
flufl.bounce's), and robots (bounces, auto-replies, loops) classed as a person's
mail, which is what would be posted. An auto-reply only its words call one (no
robot header) is held for a moderator, not posted: the table says how many of
the robots and of the people's mail that is.

    .venv/bin/python bench/robot_accuracy.py [--misses]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flufl.bounce import all_failures

from mailer.core.classify import classify
from mailer.core.errors import MalformedMessage
from mailer.core.message import ParsedMessage
from mailer.core.parse import parse_message
from mailer.core.route import auto_reply_by_words
from tests.corpus import corpus_messages

DOMAIN = "discuss.example.org"


def flufl_recipients(raw: bytes) -> list[str]:
    """What flufl.bounce alone names as failed recipients (temporary or permanent)."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - its detectors fail on some odd mail
        return []
    return sorted(
        {
            (a.decode("ascii", "replace") if isinstance(a, bytes) else a).lower()
            for a in (*temporary, *permanent)
        }
    )


def rules_class(parsed: ParsedMessage) -> str:
    """The class the header rules alone give the parsed message."""
    return classify(
        parsed.headers,
        subject=parsed.subject,
        from_address=parsed.from_address,
        has_delivery_report=any(
            "delivery-status" in v.lower()
            for k, v in parsed.headers
            if k.lower() == "content-type"
        ),
        message_id=parsed.message_id,
        own_domain=DOMAIN,
    ).value


def envelope_of(parsed: ParsedMessage) -> str:
    """The envelope sender the corpus message says it had (Return-Path), else its From."""
    path = parsed.header("Return-Path")
    return path.strip() if path is not None else parsed.from_address


def report(show_misses: bool = False) -> None:
    """Print the robots table for the corpus."""
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
    rows: list[tuple[str, str, ParsedMessage, list[str], list[str] | None]] = []
    for message in corpus_messages():
        expected = message.expected()
        if "class" not in expected:
            continue
        raw = message.read_bytes()
        try:
            parsed = parse_message(raw, own_domain=DOMAIN)
        except MalformedMessage:
            continue
        want = expected.get("bounce", {}).get("recipients")
        rows.append(
            (message.name, expected["class"], parsed, flufl_recipients(raw), want)
        )
    contenders: dict[str, Callable[[ParsedMessage, list[str]], str]] = {
        "ediscuss": lambda p, f: p.message_class.value,
        "header rules alone": lambda p, f: rules_class(p),
        "flufl.bounce alone": lambda p, f: "bounce" if f else "normal",
        "rules + flufl.bounce": lambda p, f: "bounce" if f else rules_class(p),
    }
    robots = sum(1 for _, want, *_ in rows if want != "normal")
    print(
        f"\nrobots: {len(rows)} corpus messages with a class, {robots} of them robots\n"
    )
    print(f"{'classifier':24s} {'right':>11s} {'share':>7s} {'robots posted':>14s}")
    misses: dict[str, list[str]] = {}
    for label, decide in contenders.items():
        right = posted = 0
        for name, want, parsed, found, _ in rows:
            got = decide(parsed, found)
            if got == want:
                right += 1
            else:
                misses.setdefault(label, []).append(f"{name} ({want}->{got})")
                posted += want != "normal" and got == "normal"
        share = right / max(len(rows), 1)
        print(f"{label:24s} {right:4d} / {len(rows):<4d} {share:7.1%} {posted:14d}")
    held = [
        want
        for _, want, parsed, _, _ in rows
        if auto_reply_by_words(parsed, envelope_of(parsed), DOMAIN)
    ]
    robots_held = sum(1 for want in held if want != "normal")
    print(
        f"\nheld as an auto-reply known by its words (ediscuss): {robots_held} robots,"
        f" {len(held) - robots_held} people's mail"
    )
    with_recipients = [r for r in rows if r[4] is not None]
    ours = sum(
        1
        for r in with_recipients
        if list(r[2].bounce.recipients if r[2].bounce else ()) == r[4]
    )
    theirs = sum(1 for r in with_recipients if r[3] == sorted(r[4] or []))
    n = len(with_recipients)
    print(f"\nfailed recipients exactly right, {n} bounces:")
    print(f"{'ediscuss':24s} {ours:4d} / {n:<4d} {ours / max(n, 1):7.1%}")
    print(f"{'flufl.bounce alone':24s} {theirs:4d} / {n:<4d} {theirs / max(n, 1):7.1%}")
    people: list[float] = []
    machines: list[float] = []
    flufl_ms: list[float] = []
    for message in corpus_messages():
        raw = message.read_bytes()
        is_robot = message.expected().get("class", "normal") != "normal"
        started = time.perf_counter()
        try:
            parse_message(raw, own_domain=DOMAIN)
        except MalformedMessage:
            pass
        (machines if is_robot else people).append(time.perf_counter() - started)
        started = time.perf_counter()
        flufl_recipients(raw)
        flufl_ms.append(time.perf_counter() - started)
    print(
        "\nmedian ms a message (parse, trim and classify; flufl.bounce: parse and scan):"
    )
    for label, times in (
        ("ediscuss, people's mail", people),
        ("ediscuss, robots", machines),
        ("flufl.bounce alone, all", flufl_ms),
    ):
        print(f"{label:30s} {statistics.median(times) * 1000:8.2f}")
    if show_misses:
        for label, names in misses.items():
            print(f"\n{label} missed {len(names)}: {', '.join(names)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the misses")
    report(parser.parse_args().misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
