"""How often the reply trimmer gets the new text exactly right, beside mail-parser-reply.

Every message of tests/data/corpus with an expected ``new_text`` is parsed once;
its untrimmed text then goes to ``trim_reply`` (ours) and to mail-parser-reply
alone (its first reply, without its signature and disclaimers, and also as it
returns it), in the same run. Texts are compared with trailing spaces and
blank-line runs normalised, as the corpus tests do.

The corpus grew with the trimmer, so its score flatters it; the reply bodies
of tests/data/trim_holdout.toml were written after the trimmer was frozen and
are scored separately.

    .venv/bin/python bench/trim_accuracy.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from mailparser_reply import EmailReplyParser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailer.core.parse import parse_message
from mailer.core.trim import trim_reply
from tests.corpus import corpus_messages

HOLDOUT = ROOT / "tests" / "data" / "trim_holdout.toml"
LANGUAGES = ["en", "es", "fr", "de"]  # every one of ours it knows (it has no "pt")


def normalised(text: str) -> str:
    out: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def library_body(text: str) -> str:
    """mail-parser-reply's latest reply without signature and disclaimers."""
    message = EmailReplyParser(languages=LANGUAGES).read(text)
    return message.replies[0].body if message.replies else ""


def library_reply(text: str) -> str:
    """mail-parser-reply's latest reply as ``parse_reply`` returns it."""
    return EmailReplyParser(languages=LANGUAGES).parse_reply(text) or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--misses", action="store_true", help="list what each got wrong"
    )
    args = parser.parse_args()

    cases: list[tuple[str, str, str, str]] = []
    for message in corpus_messages():
        expected = message.expected()
        if "new_text" not in expected:
            continue
        parsed = parse_message(message.read_bytes(), own_domain="discuss.example.org")
        cases.append(
            (message.name, parsed.text, parsed.from_name, expected["new_text"])
        )

    with HOLDOUT.open("rb") as f:
        held_out = [
            (r["name"], r["text"], r["sender"], r["new_text"])
            for r in tomllib.load(f)["reply"]
        ]
    misses = score(
        f"{len(cases)} corpus messages with an expected new text", cases, True
    )
    held_misses = score(f"{len(held_out)} held-out reply bodies", held_out, False)
    if args.misses:
        for title, found in (("corpus", misses), ("held-out", held_misses)):
            for label, names in found.items():
                print(f"\n{title}: {label} missed {len(names)}: {', '.join(names)}")
    return 0


CONTENDERS: dict[str, Callable[[str, str], str]] = {
    "ediscuss trim_reply": lambda text, name: trim_reply(text, sender_name=name),
    "mail-parser-reply (body)": lambda text, name: library_body(text),
    "mail-parser-reply (parse_reply)": lambda text, name: library_reply(text),
}


def score(
    title: str, cases: list[tuple[str, str, str, str]], kinds_table: bool
) -> dict[str, list[str]]:
    """Print how many of *cases* each trimmer gets exactly right; return the misses."""
    print(f"\n{title}\n")
    print(f"{'trimmer':34s} {'exact':>12s} {'share':>7s} {'ms/msg':>8s}")
    misses: dict[str, list[str]] = defaultdict(list)
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for label, trim in CONTENDERS.items():
        right = 0
        started = time.perf_counter()
        for name, text, sender, want in cases:
            if normalised(trim(text, sender)) == normalised(want):
                right += 1
                by_kind[label][name.split("-", 1)[0]] += 1
            else:
                misses[label].append(name)
        elapsed = (time.perf_counter() - started) * 1000 / max(len(cases), 1)
        share = right / max(len(cases), 1)
        print(f"{label:34s} {right:5d} / {len(cases):<4d} {share:7.1%} {elapsed:8.2f}")
    if not kinds_table:
        return misses
    kinds = sorted({name.split("-", 1)[0] for name, *_ in cases})
    totals = {k: sum(1 for n, *_ in cases if n.split("-", 1)[0] == k) for k in kinds}
    print("\nexact, by kind of message:")
    print(
        f"{'kind':12s} {'n':>3s} "
        + " ".join(f"{label[:24]:>25s}" for label in CONTENDERS)
    )
    for kind in kinds:
        row = " ".join(f"{by_kind[label][kind]:>25d}" for label in CONTENDERS)
        print(f"{kind:12s} {totals[kind]:3d} {row}")
    return misses


if __name__ == "__main__":
    raise SystemExit(main())
