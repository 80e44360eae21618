"""How often the reply trimmer gets the new text right, beside mail-parser-reply.

Every message of tests/data/corpus with an expected ``new_text`` is parsed once;
its untrimmed text then goes to ``trim_reply`` (ours) and to mail-parser-reply
alone (its first reply, without its signature and disclaimers, and also as it
returns it), in the same run. Texts are compared with trailing spaces and
blank-line runs normalised, as the corpus tests do: "exact" counts equal
texts, "similarity" is the mean difflib ratio to the right answer (1.0 when
both are empty). The figures are printed for the whole corpus, by the
interface language of the client that wrote the reply (``locale``) and by
client family (``client``), as tests/data/corpus/README.md describes them.

The corpus grew with the trimmer, so its score flatters it; the reply bodies
of tests/data/trim_holdout.toml were written after the trimmer was frozen and
are scored separately. Then the time of parse + trim + classify
(``parse_message``) per corpus message: the median must stay under 1 ms.
Last, the robots table (bench/robot_accuracy.py): bounces and auto-replies
told from people, beside flufl.bounce alone.

    .venv/bin/python bench/trim_accuracy.py [--misses]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from mailparser_reply import EmailReplyParser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.robot_accuracy import report as robots_report
from mailer.core.parse import parse_message
from mailer.core.trim import trim_reply
from tests.corpus import corpus_messages

HOLDOUT = ROOT / "tests" / "data" / "trim_holdout.toml"
# Every language mail-parser-reply 1.36 knows that a corpus client writes in.
LANGUAGES = [
    "en",
    "de",
    "cs",
    "da",
    "es",
    "fr",
    "it",
    "ja",
    "ko",
    "nl",
    "pl",
    "sv",
    "zh",
]
DOMAIN = "discuss.example.org"


@dataclass(frozen=True)
class Case:
    """One reply: its untrimmed text, sender, the right answer, and where it came from."""

    name: str
    text: str
    sender: str
    want: str
    locale: str = ""
    client: str = ""


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


def similarity(got: str, want: str) -> float:
    """How close *got* is to *want*, 0 to 1 (1 when both are empty)."""
    if got == want:
        return 1.0
    return SequenceMatcher(None, got, want, autojunk=False).ratio()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--misses", action="store_true", help="list what each got wrong"
    )
    args = parser.parse_args()

    cases: list[Case] = []
    published: list[tuple[bool, str, str]] = []  # (from HTML, new text, right answer)
    for message in corpus_messages():
        expected = message.expected()
        if "new_text" not in expected:
            continue
        parsed = parse_message(message.read_bytes(), own_domain=DOMAIN)
        published.append((parsed.text_from_html, parsed.new_text, expected["new_text"]))
        cases.append(
            Case(
                message.name,
                parsed.text,
                parsed.from_name,
                expected["new_text"],
                expected.get("locale", ""),
                expected.get("client", ""),
            )
        )

    with HOLDOUT.open("rb") as f:
        held_out = [
            Case(r["name"], r["text"], r["sender"], r["new_text"])
            for r in tomllib.load(f)["reply"]
        ]
    misses = score(
        f"{len(cases)} corpus messages with an expected new text", cases, True
    )
    held_misses = score(f"{len(held_out)} held-out reply bodies", held_out, False)
    print_published(published)
    if args.misses:
        for title, found in (("corpus", misses), ("held-out", held_misses)):
            for label, names in found.items():
                print(f"\n{title}: {label} missed {len(names)}: {', '.join(names)}")
    time_parse()
    robots_report(args.misses)
    return 0


CONTENDERS: dict[str, Callable[[str, str], str]] = {
    "ediscuss trim_reply": lambda text, name: trim_reply(text, sender_name=name),
    "mail-parser-reply (body)": lambda text, name: library_body(text),
    "mail-parser-reply (parse_reply)": lambda text, name: library_reply(text),
}
# The breakdowns compare ours with the library's better reading.
COMPARED = ("ediscuss trim_reply", "mail-parser-reply (body)")


@dataclass
class Tally:
    """Exact answers and summed similarity of one contender over a group of cases."""

    n: int = 0
    exact: int = 0
    similar: float = 0.0

    def add(self, got: str, want: str) -> bool:
        self.n += 1
        right = got == want
        self.exact += right
        self.similar += similarity(got, want)
        return right

    def cell(self) -> str:
        return f"{self.exact / self.n:6.1%} {self.similar / self.n:5.3f}"


def score(title: str, cases: list[Case], breakdowns: bool) -> dict[str, list[str]]:
    """Print how well each trimmer does on *cases*; return the names each missed."""
    print(f"\n{title}\n")
    print(
        f"{'trimmer':34s} {'exact':>12s} {'share':>7s} {'similar':>8s} {'ms/msg':>7s}"
    )
    misses: dict[str, list[str]] = defaultdict(list)
    groups: dict[str, dict[tuple[str, str], Tally]] = {"locale": {}, "client": {}}
    for label, trim in CONTENDERS.items():
        total = Tally()
        started = time.perf_counter()
        for case in cases:
            got = normalised(trim(case.text, case.sender))
            want = normalised(case.want)
            if not total.add(got, want):
                misses[label].append(case.name)
            if label in COMPARED:
                for kind, key in (("locale", case.locale), ("client", case.client)):
                    groups[kind].setdefault((key, label), Tally()).add(got, want)
        elapsed = (time.perf_counter() - started) * 1000 / max(len(cases), 1)
        print(
            f"{label:34s} {total.exact:5d} / {total.n:<4d} "
            f"{total.exact / max(total.n, 1):7.1%} {total.similar / max(total.n, 1):8.3f}"
            f" {elapsed:7.2f}"
        )
    if breakdowns:
        for kind, tallies in groups.items():
            print_breakdown(kind, tallies)
    return misses


def print_breakdown(kind: str, tallies: dict[tuple[str, str], Tally]) -> None:
    """One row per locale or client: exact share and mean similarity of each."""
    keys = sorted(
        {key for key, _ in tallies}, key=lambda k: (-tallies[k, COMPARED[0]].n, k)
    )
    print(f"\nby {kind} (exact share, mean similarity):")
    print(f"{kind:16s} {'n':>3s}  {'ediscuss':>12s}  {'mail-parser-reply':>17s}")
    for key in keys:
        ours, theirs = (tallies[key, label] for label in COMPARED)
        print(f"{key or '-':16s} {ours.n:3d}  {ours.cell()}  {theirs.cell():>17s}")


def print_published(published: list[tuple[bool, str, str]]) -> None:
    """What parse_message itself publishes: for HTML the quoted history is cut
    in the tree before the text is made, so trim_reply on the full text (the
    rows above) is not what the service does with an HTML-only reply."""
    for title, chosen in (
        ("every message", published),
        ("HTML-only", [p for p in published if p[0]]),
    ):
        tally = Tally()
        for _, got, want in chosen:
            tally.add(normalised(got), normalised(want))
        print(
            f"\nparse_message new text, {title}: {tally.exact} / {tally.n} exact, "
            f"mean similarity {tally.similar / max(tally.n, 1):.3f}"
        )


def time_parse(rounds: int = 5) -> None:
    """Print the median time of parse + trim + classify per corpus message."""
    raws = [message.read_bytes() for message in corpus_messages()]
    per_message: list[float] = []
    for raw in raws:
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            try:
                parse_message(raw, own_domain=DOMAIN)
            except Exception:  # noqa: BLE001, S110 - a malformed corpus message is timed too
                pass
            best = min(best, time.perf_counter() - started)
        per_message.append(best * 1000)
    per_message.sort()
    p95 = per_message[int(len(per_message) * 0.95) - 1]
    print(
        f"\nparse + trim + classify, {len(raws)} corpus messages (best of {rounds}):"
        f" median {statistics.median(per_message):.3f} ms, p95 {p95:.3f} ms per message"
    )


if __name__ == "__main__":
    raise SystemExit(main())
