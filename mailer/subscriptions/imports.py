"""Importing subscribers from CSV: every row checked, a report, and no second mail.

The columns are those ``ediscuss subscribers export`` writes (``email``, then
any of ``name``, ``organisation``, ``constituency``, ``language``, ``mode``,
``status``, ``confirmed_at``); only ``email`` is required. A comma, semicolon
or tab separates columns (spreadsheets in Spanish and French write ``;``),
and a UTF-8 byte-order mark is ignored.

Rows with a problem are reported (line, column, what is wrong) and skipped;
the others are imported. Importing the same file again changes nothing and
sends nothing: an active address stays as it is, a pending one with a valid
confirmation gets no other, and an address that unsubscribed or bounced is
never brought back (nor is a row whose ``status`` says it left).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from mailer.config.settings import DiscussionSettings
from mailer.core.choices import SignupSource
from mailer.core.errors import EdiscussError
from mailer.subscriptions.notices import place_for
from mailer.subscriptions.signup import Found, Signup, SignupOutcome, settle
from mailer.subscriptions.values import (
    TEXT_LIMIT,
    InvalidAddress,
    InvalidValue,
    check_constituency,
    check_language,
    check_mode,
    clean_text,
    normalise_address,
)
from store.models import DeliveryMode, SubscriptionStatus
from store.subscribers import Person, ensure_many

if TYPE_CHECKING:
    from mailer.runtime import Runtime

COLUMNS = (
    "email",
    "name",
    "organisation",
    "constituency",
    "language",
    "mode",
    "status",
    "confirmed_at",
)
_ALIASES = {
    "e-mail": "email",
    "mail": "email",
    "email address": "email",
    "organization": "organisation",
}
_IMPORTABLE = ("", SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PENDING.value)
_LEFT = tuple(s.value for s in SubscriptionStatus if s.value not in _IMPORTABLE)
BATCH = 200


class UnusableFile(EdiscussError, ValueError):
    """A file that cannot be imported at all (no header, no email column)."""


@dataclass(frozen=True)
class RowProblem:
    """One problem in one row: where (line, column) and what."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True)
class ImportRow:
    """One row, checked: ready to import."""

    line: int
    email: str
    name: str
    organisation: str
    constituency: str
    language: str | None
    mode: DeliveryMode | None
    left: bool  # the status column says this person left: never imported


@dataclass
class ImportReport:
    """What an import found and did."""

    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def open_rows(stream: TextIO) -> tuple[csv.DictReader[str], list[str]]:
    """A reader over *stream* with normalised column names, and warnings about columns."""
    sample = stream.read(4096)
    stream.seek(0)
    reader = csv.DictReader(stream, dialect=_dialect(sample))
    if not reader.fieldnames:
        raise UnusableFile("the file is empty: expected a header row with 'email'")
    names = [
        _ALIASES.get(n.strip().lower(), n.strip().lower()) for n in reader.fieldnames
    ]
    reader.fieldnames = names
    if "email" not in names:
        raise UnusableFile(f"no 'email' column (columns: {', '.join(names)})")
    unknown = [n for n in names if n not in COLUMNS]
    warnings = [f"column {n!r} is not known and is ignored" for n in unknown]
    return reader, warnings


def check_rows(
    reader: csv.DictReader[str],
    discussion: DiscussionSettings,
    check_deliverability: bool,
    problems: list[RowProblem],
) -> Iterator[ImportRow | None]:
    """Check each row: a good one is yielded, a bad one yields None and adds to *problems*."""
    seen: dict[str, int] = {}
    line = 1  # the header
    for raw in reader:
        start, line = line + 1, reader.line_num  # a quoted field may span lines
        row = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
        if not any(row.values()):
            continue
        found: list[RowProblem] = []
        checked = _check_row(row, start, discussion, check_deliverability, seen, found)
        problems.extend(found)
        yield checked


def _check_row(
    row: dict[str, str],
    line: int,
    discussion: DiscussionSettings,
    check_deliverability: bool,
    seen: dict[str, int],
    found: list[RowProblem],
) -> ImportRow | None:
    email = ""
    try:
        email = normalise_address(row.get("email", ""), check_deliverability)
    except InvalidAddress as exc:
        found.append(
            RowProblem(line, "email", f"{row.get('email', '')!r}: {exc.reason}")
        )
    if email and email in seen:
        found.append(
            RowProblem(line, "email", f"{email} already appears on line {seen[email]}")
        )
    elif email:
        seen[email] = line
    for column in ("name", "organisation"):
        if len(row.get(column, "")) >= TEXT_LIMIT:
            found.append(
                RowProblem(line, column, f"longer than {TEXT_LIMIT - 1} characters")
            )
    constituency, language, mode = "", None, None
    try:
        constituency = check_constituency(row.get("constituency"))
    except InvalidValue as exc:
        found.append(RowProblem(line, "constituency", f"{exc.value!r} is {exc.reason}"))
    try:
        if row.get("language"):
            language = check_language(row["language"], discussion)
    except InvalidValue as exc:
        found.append(RowProblem(line, "language", f"{exc.value!r} is {exc.reason}"))
    try:
        if row.get("mode"):
            mode = check_mode(row["mode"])
    except InvalidValue as exc:
        found.append(RowProblem(line, "mode", f"{exc.value!r} is {exc.reason}"))
    status = row.get("status", "").lower()
    if status not in _IMPORTABLE and status not in _LEFT:
        found.append(
            RowProblem(line, "status", f"{status!r} is not a subscription status")
        )
    if found:
        return None
    return ImportRow(
        line=line,
        email=email,
        name=clean_text(row.get("name")),
        organisation=clean_text(row.get("organisation")),
        constituency=constituency,
        language=language,
        mode=mode,
        left=status in _LEFT,
    )


def _batches(
    rows: Iterable[ImportRow | None],
    size: int,
    report: ImportReport,
    tick: Callable[[], None],
) -> Iterator[list[ImportRow]]:
    batch: list[ImportRow] = []
    for row in rows:
        report.rows += 1
        tick()
        if row is None:
            continue
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_subscribers(
    runtime: Runtime,
    slug: str,
    stream: TextIO,
    *,
    confirmed: bool,
    dry_run: bool = False,
    on_row: Callable[[], None] | None = None,
) -> ImportReport:
    """Check and import the CSV in *stream* into discussion *slug*.

    *confirmed* imports rows as ACTIVE with no mail (the operator vouches for
    consent); otherwise each new address gets a confirmation. Rows are
    committed in batches, so a large file interrupted half-way can be
    imported again to finish. *on_row* is called once per row read (for a
    progress bar).
    """
    discussion = runtime.settings.discussion(slug)
    if discussion is None:
        raise LookupError(f"no discussion {slug!r}")
    report = ImportReport()
    reader, report.warnings = open_rows(stream)
    rows = check_rows(
        reader,
        discussion,
        runtime.settings.subscribers.check_deliverability,
        report.problems,
    )
    for batch in _batches(rows, BATCH, report, on_row or (lambda: None)):
        if dry_run:
            report.outcomes["valid"] += len(batch)
        else:
            _import_batch(runtime, slug, batch, confirmed, report)
    return report


def _import_batch(
    runtime: Runtime,
    slug: str,
    batch: list[ImportRow],
    confirmed: bool,
    report: ImportReport,
) -> None:
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        place = place_for(session, runtime, slug)
        for row in batch:
            if row.left:
                report.outcomes["not imported: the status column says they left"] += 1
        wanted = [row for row in batch if not row.left]
        found = ensure_many(
            session,
            place.row_id,
            [
                Person(
                    row.email,
                    row.name,
                    row.organisation,
                    row.constituency,
                    row.language or place.conf.default_language,
                    row.mode or DeliveryMode.EACH,
                )
                for row in wanted
            ],
            now,
            source=SignupSource.IMPORT,
            status=SubscriptionStatus.ACTIVE
            if confirmed
            else SubscriptionStatus.PENDING,
        )
        for row in wanted:
            signup = Signup(
                row.email,
                language=row.language,
                mode=row.mode,
                source=SignupSource.IMPORT,
                confirmed=confirmed,
            )
            result = settle(
                session, runtime, place, Found(*found[row.email]), signup, now
            )
            report.outcomes[_OUTCOME_TEXT[result.outcome]] += 1


_OUTCOME_TEXT = {
    SignupOutcome.ACTIVATED: "subscribed (confirmed)",
    SignupOutcome.CONFIRMATION_SENT: "confirmation sent",
    SignupOutcome.ALREADY_ACTIVE: "already subscribed",
    SignupOutcome.ALREADY_PENDING: "already waiting for confirmation",
    SignupOutcome.SKIPPED: "not imported: unsubscribed or bouncing",
}


def count_rows(text: str) -> int:
    """How many data rows a CSV text has (for a progress bar's total)."""
    return max(sum(1 for _ in csv.reader(io.StringIO(text))) - 1, 0)
