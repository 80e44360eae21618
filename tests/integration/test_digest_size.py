"""Digests that fit in a mailbox: 300 contributions in at most ``digest.max_bytes``.

A day of 300 contributions of realistic length (a few lines to a few pages,
in English, Spanish and French) is queued to readers of each language; every
copy, measured as the relay gets it, stays under the limit, keeps the reply
address of every contribution, and sends the reader to the web for the ones
it abridges. A day of a few contributions is the digest it always was.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.commands.schedule import describe_size
from mailer.core.addresses import AddressBook
from mailer.core.digest import clean_body
from mailer.links import post_url, reply_address
from mailer.mailings.digests import preview_digest, send_due_digests
from mailer.mailings.due import run_due
from mailer.outbound.digest_size import DKIM_ALLOWANCE, WIDEST_READER
from mailer.outbound.dkim import DkimSigner, generate_key
from mailer.runtime import Runtime, open_runtime
from store.models import OutboxMessage
from tests.fixtures.schedule import SLUG, MovableClock, add_post, subscribe
from tests.fixtures.settings import SettingsFactory

OPENED = datetime(2027, 3, 27, 8, 5, tzinfo=UTC)
DIGEST_27 = datetime(2027, 3, 27, 17, 5, tzinfo=UTC)  # 18:05 in Geneva
LIMIT = 100_000
REST = {"en": "The rest: ", "es": "El resto: ", "fr": "La suite : "}
NOTE = {
    "en": "To fit in a mailbox, {} of them show only their first lines",
    "es": "Para que este mensaje quepa en un buzón, {} de ellas muestran solo",
    "fr": "Pour que ce message tienne dans une boîte aux lettres, {} d'entre elles",
}

SENTENCES = {
    "en": """
Our apprentices lost almost all of their workshop time in the first month.
We moved the theory modules online within a week, but the practical assessments had to be postponed.
Many learners only have a phone, so every lesson we publish now has to work on a small screen.
Employers kept apprentices on the payroll when the government covered part of the wages.
Trainers needed help too: few of them had taught a live class online before.
In rural districts the mobile network drops in the evening, which is when adult learners study.
We sent printed workbooks by post to the learners we could not reach online.
Short video demonstrations recorded in the workshop helped more than long lectures.
The unions asked that online hours count towards the apprenticeship contract like hours on site.
Completion fell by a fifth, and it fell most among learners who were already behind.
""",
    "es": """
Nuestros aprendices perdieron casi todas las horas de taller durante el primer mes.
Pasamos los módulos teóricos a la plataforma en una semana, pero las evaluaciones prácticas se aplazaron.
Muchos alumnos solo tienen un teléfono móvil, así que cada lección debe funcionar en una pantalla pequeña.
Las empresas mantuvieron a los aprendices cuando el Gobierno asumió parte de los salarios.
Los formadores también necesitaron apoyo: pocos habían dado una clase en línea antes.
En las zonas rurales la conexión falla por la tarde, justo cuando estudian las personas adultas.
Enviamos cuadernos impresos por correo a quienes no podíamos llegar en línea.
Los vídeos cortos grabados en el taller ayudaron más que las clases largas.
""",
    "fr": """
Nos apprentis ont perdu presque toutes leurs heures d'atelier pendant le premier mois.
Les modules théoriques sont passés en ligne en une semaine, mais les évaluations pratiques ont été reportées.
Beaucoup d'apprenants n'ont qu'un téléphone : chaque leçon doit fonctionner sur un petit écran.
Les employeurs ont gardé leurs apprentis lorsque l'État a pris en charge une partie des salaires.
Les formateurs ont eu besoin d'aide : peu d'entre eux avaient déjà enseigné à distance.
Dans les régions rurales, le réseau mobile faiblit le soir, à l'heure où étudient les adultes.
Des cahiers imprimés ont été envoyés par la poste à ceux que nous ne pouvions pas joindre.
De courtes vidéos tournées à l'atelier ont davantage aidé que les longs cours magistraux.
""",
}
PEOPLE = [
    ("Ana Ruiz", "Confederación Sindical", "workers"),
    ("Priya Nair", "SkillsBridge Training", "training-provider"),
    ("Tom Baker", "Federation of Small Businesses", "employers"),
    ("Jean-Baptiste Ngom", "Ministère de la Formation professionnelle", "government"),
    ("Lucía Gómez", "", "individual"),
    ("Kwame Mensah", "Open Learning Network", "ngo"),
]


def realistic_body(rng: random.Random) -> str:
    """A contribution of a few lines to a few pages, in one language."""
    language = rng.choice(["en", "en", "es", "fr"])
    size = min(int(rng.lognormvariate(6.9, 0.7)), 7000)  # median about 1,000
    paragraphs: list[str] = []
    length = 0
    while length < size:
        words = " ".join(
            rng.choice(SENTENCES[language].strip().splitlines())
            for _ in range(rng.randint(2, 5))
        )
        paragraphs.append(words)
        length += len(words)
    return "\n\n".join(paragraphs)


def seed_day(rt: Runtime, posts: int, seed: int = 19) -> dict[int, str]:
    """*posts* approved contributions between the opening and the digest hour."""
    rng = random.Random(seed)
    run_due(rt, OPENED)  # week one opens: questions 1 to 6
    step = (DIGEST_27 - OPENED - timedelta(minutes=10)) / posts
    bodies: dict[int, str] = {}
    for i in range(posts):
        name, organisation, constituency = PEOPLE[i % len(PEOPLE)]
        parent = rng.choice(list(bodies)) if bodies and rng.random() < 0.3 else None
        body = realistic_body(rng)
        pid = add_post(
            rt,
            1 + i % 6,
            OPENED + timedelta(minutes=5) + step * i,
            author=f"{name} {i}",
            organisation=organisation,
            constituency=constituency,
            body=body,
            parent=parent,
        )
        bodies[pid] = body
    return bodies


def digests(rt: Runtime) -> dict[str, tuple[bytes, EmailMessage]]:
    """Each digest queued, whole as the relay gets it, by recipient."""
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "digest")
        ).all()
        out = {}
        for row in rows:
            raw = row.whole()
            msg = message_from_bytes(raw, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out[row.recipient] = (raw, msg)
    return out


def part(msg: EmailMessage, kind: str) -> str | None:
    body = msg.get_body((kind,))
    return None if body is None else str(body.get_content()).replace("\r\n", "\n")


def flat(text: str) -> str:
    return " ".join(text.split())


def readers(rt: Runtime) -> dict[str, str]:
    """A reader per language, with names that take bytes; pt reads the default."""
    names = {
        "en": "Þórdís Ólafsdóttir-Ñúñez",
        "es": "José María Íñiguez Peña",
        "fr": "Françoise Lefèvre-Bénézet",
        "pt": "João Conceição",
    }
    for lang, name in names.items():
        subscribe(rt, f"reader.{lang}@example.net", language=lang, name=name)
    # Near the widest a digest is measured for: a long address, a name of
    # letters that each take several bytes once encoded.
    wide = "q" * 64 + "@" + "r" * 60 + ".example.net"
    subscribe(rt, wide, language="fr", name="Ŵ" * 80)
    return {f"reader.{lang}@example.net": lang for lang in names} | {wide: "fr"}


def test_a_day_of_300_contributions_fits_every_reader_with_every_reply_address(
    sim_runtime: Runtime, sim_clock: MovableClock, caplog: pytest.LogCaptureFixture
) -> None:
    rt = sim_runtime
    people = readers(rt)
    bodies = seed_day(rt, 300)
    # Today's digest of this day would be over a megabyte per reader.
    assert sum(len(b.encode()) for b in bodies.values()) > 300_000
    caplog.set_level("INFO", logger="ediscuss.digest")
    [result] = send_due_digests(rt, DIGEST_27)
    assert (result.posts, result.queued) == (300, 5)
    settings = rt.settings
    book = AddressBook(SLUG, settings.service.domain)
    sent = digests(rt)
    assert set(sent) == set(people)
    for recipient, (raw, msg) in sent.items():
        lang = people[recipient] if people[recipient] != "pt" else "en"
        assert len(raw) <= LIMIT, (recipient, len(raw))
        assert msg.get_content_type() in ("text/plain", "multipart/alternative")
        text = part(msg, "plain")
        assert text is not None
        html = part(msg, "html")
        abridged = {
            int(m.group(1))
            for m in re.finditer(
                re.escape(REST[lang]) + r"\S+/posts/(\d+)$", text, re.MULTILINE
            )
        }
        assert 0 < len(abridged) < 300
        for pid, body in bodies.items():
            address = reply_address(book, rt.key, pid)
            assert text.count(address) == 1, (recipient, pid)
            if html is not None:
                assert f"mailto:{address}" in html
            url = post_url(settings.service.base_url, SLUG, pid)
            assert url in text
            cleaned = flat(clean_body(body)[0].removesuffix(" …"))
            if pid in abridged:
                assert flat(body)[:30] in flat(text)  # its first line
            else:
                assert cleaned in flat(text)  # whole (to 4,000 characters)
        assert NOTE[lang].format(len(abridged)) in flat(text[:1500])
    sizes = [r.getMessage() for r in caplog.records if "digest size" in r.getMessage()]
    assert len(sizes) == 3 and all("abridged=" in m for m in sizes)  # en, es, fr


def test_a_day_of_a_few_contributions_is_the_whole_digest_with_html(
    sim_runtime: Runtime, sim_clock: MovableClock
) -> None:
    rt = sim_runtime
    readers(rt)
    bodies = seed_day(rt, 12, seed=7)
    send_due_digests(rt, DIGEST_27)
    for raw, msg in digests(rt).values():
        assert msg.get_content_type() == "multipart/alternative"
        assert len(raw) < LIMIT
        text = part(msg, "plain")
        html = part(msg, "html")
        assert text is not None and html is not None
        for body in bodies.values():
            assert flat(clean_body(body)[0].removesuffix(" …")) in flat(text)
        assert not any(label in text for label in REST.values())
        assert "mailbox" not in text and "buzón" not in text and "boîte" not in text


def test_text_alone_before_any_contribution_is_abridged(
    db_url: str, make_settings: SettingsFactory, sim_clock: MovableClock
) -> None:
    """With the HTML part the day is over 40,000 bytes, as text alone it is not."""
    settings = make_settings(db_url, {"digest": {"max_bytes": 40_000}})
    rt = open_runtime(settings, clock=sim_clock, migrate=True)
    try:
        subscribe(rt, "reader@example.net", language="fr")
        bodies = seed_day(rt, 12, seed=7)
        send_due_digests(rt, DIGEST_27)
        [(raw, msg)] = digests(rt).values()
        assert len(raw) <= 40_000 and msg.get_content_type() == "text/plain"
        text = part(msg, "plain")
        assert text is not None
        assert REST["fr"] not in text  # text alone: every contribution whole
        for body in bodies.values():
            assert flat(clean_body(body)[0].removesuffix(" …")) in flat(text)
    finally:
        rt.close()


def test_one_contribution_larger_than_the_limit_is_abridged(
    db_url: str, make_settings: SettingsFactory, sim_clock: MovableClock
) -> None:
    """4,000 characters of Chinese are 36,000 bytes quoted-printable, in each part."""
    settings = make_settings(db_url, {"digest": {"max_bytes": 20_000}})
    rt = open_runtime(settings, clock=sim_clock, migrate=True)
    try:
        subscribe(rt, "reader@example.net", language="en")
        run_due(rt, OPENED)
        body = "在线学习改变了培训。" * 400
        pid = add_post(rt, 2, OPENED + timedelta(hours=1), author="Li Wei", body=body)
        send_due_digests(rt, DIGEST_27)
        [(raw, msg)] = digests(rt).values()
        # Abridged either way, so the HTML part stays: it costs no whole entry.
        assert len(raw) <= 20_000
        assert msg.get_content_type() == "multipart/alternative"
        text, html = part(msg, "plain"), part(msg, "html")
        assert text is not None and html is not None
        book = AddressBook(SLUG, settings.service.domain)
        address = reply_address(book, rt.key, pid)
        url = post_url(settings.service.base_url, SLUG, pid)
        assert f"Reply: {address}" in text and f"{REST['en']}{url}" in text
        assert f'href="mailto:{address}"' in html and f'href="{url}"' in html
        assert "To fit in a mailbox, 1 of them shows only its first lines" in flat(text)
        assert "在线学习改变了培训。在线学习" in text and body not in text
    finally:
        rt.close()


def test_preview_states_the_size_and_shows_what_readers_get(
    sim_runtime: Runtime, sim_clock: MovableClock
) -> None:
    rt = sim_runtime
    subscribe(rt, "lector@example.net", language="es")
    seed_day(rt, 300)
    preview = preview_digest(rt, SLUG, DIGEST_27.date(), "es")
    assert preview is not None and preview.posts == 300
    assert preview.fits and preview.size <= LIMIT and preview.limit == LIMIT
    assert 250 < preview.abridged < 300 and preview.html is None
    assert preview.text.count(REST["es"]) == preview.abridged
    assert NOTE["es"].format(preview.abridged) in flat(preview.text)
    line = describe_size(preview, "2027-03-27")
    assert re.fullmatch(
        r"digest of 2027-03-27 in es: at most (9\d|\d\d),\d{3} bytes a copy, "
        r"within digest.max_bytes 100,000; 300 contributions: \d+ whole, "
        rf"{preview.abridged} abridged to their first lines; text alone",
        line,
    ), line
    # The preview is the digest queued, but for the personal link.
    send_due_digests(rt, DIGEST_27)
    [(_, msg)] = digests(rt).values()
    queued = re.sub(
        r"/(unsubscribe|manage)/\S+",
        r"/\1/(personal-link)",
        part(msg, "plain") or "",
    )
    assert queued == preview.text


def test_the_dkim_allowance_holds_a_4096_bit_signature(tmp_path: Path) -> None:
    """The signature added at send time fits the room kept for it."""
    key = generate_key(tmp_path / "dkim.key", "s2027", "discuss.example.org", 4096)
    signer = DkimSigner("s2027", "discuss.example.org", key.key_file.read_bytes())
    raw = (
        "From: Skills <skills-covid19@discuss.example.org>\r\n"
        f"To: {WIDEST_READER.email}\r\nSubject: Digest\r\n"
        "List-Unsubscribe: <http://127.0.0.1:8080/unsubscribe/1.x>\r\n\r\nBody\r\n"
    ).encode()
    assert len(signer.sign(raw)) - len(raw) <= DKIM_ALLOWANCE
