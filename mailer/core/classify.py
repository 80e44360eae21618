"""Telling a person's mail from bounces, our own mail coming back, and auto-replies.

Bounces and auto-replies are never posted and never answered, so no mail loop
can form (DESIGN.md). The signals, strongest first:

* bounce: an RFC 3464 delivery report, ``X-Failed-Recipients`` (Exim),
  ``X-MS-Exchange-Message-Is-Ndr`` (Exchange), ``X-MDDSN-Message`` (MDaemon), a
  MAILER-DAEMON sender, or a null sender / postmaster with a failure subject;
* loop: ``X-Loop`` or ``List-Id`` naming our domain, a Message-ID we made, or
  more ``Received`` headers than any honest path has;
* auto-reply: RFC 3834 ``Auto-Submitted`` (anything but ``no``),
  ``X-Autoreply``, ``X-Autorespond``, ``X-Mail-Autoreply``, ``X-Autoreply-From``,
  ``Precedence`` (or ``X-Precedence``) ``bulk|junk|list``, a read receipt, a
  ``X-Auto-Response-Suppress`` (Exchange), a null sender, or an out-of-office
  subject in en/es/fr/pt/de and the other languages mail servers answer in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from mailer.core.message import BounceReport, MessageClass

Headers = Sequence[tuple[str, str]]

_DAEMONS = frozenset({"mailer-daemon", "mail-daemon", "maildaemon", "mailerdaemon"})
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")
_ADDRESS = re.compile(
    r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})>?"
)
_LOCAL_USER = re.compile(
    r"(?m)^\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3} )?<?([^\s@<>]{1,64})>?\.\.\. "
)
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|wg|fw|fwd|tr|rv|enc|sv|antw)\s?:\s*)+", re.IGNORECASE
)

# Compared without accents, case-folded, at the start of the subject.
_FAILURE_SUBJECTS = (
    "undelivered mail",
    "undeliverable",
    "undelivered",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "mail delivery failed",
    "failure notice",
    "returned mail",
    "delayed mail",
    "delivery delayed",
    "mail could not be delivered",
    "message status - undeliverable",
    "permanent delivery failure",
    "warning: could not send",
    "mail system error",
    "non remis",
    "non distribuable",
    "echec de la remise",
    "no se puede entregar",
    "imposible entregar",
    "no entregado",
    "unzustellbar",
    "nicht zustellbar",
    "nao entregue",
    "mensagem nao entregue",
    "nao foi possivel entregar",
)
# Out-of-office subject openings; a word that can begin an ordinary subject
# ("Ausencia de formación...") counts only when a colon or the end follows it.
# A subject in brackets ("[Auto-Reply] ...", as some gateways write it) counts too.
_AUTO_SUBJECT = re.compile(
    r"^\[?(?:automatic reply|auto[- ]?reply|auto[- ]?response|out of (?:the )?office"
    r"|away from (?:the office|my desk)|i(?: am|'m) out of the office|vacation reply"
    r"|i(?: am|'m) on (?:vacation|holiday|annual leave)"
    r"|respuesta automatica|fuera de (?:la )?oficina|estoy fuera de|estoy de vacaciones"
    r"|reponse automatique|absen(?:ce|t) du bureau|message d'absence|je suis absente?"
    r"|je suis en (?:vacances|conges)"
    r"|resposta automatica|ausencia temporaria|fora do escritorio|ausente do escritorio"
    r"|estou ausente|estou de ferias|automatische (?:antwort|abwesenheitsnotiz)"
    r"|abwesenheitsnotiz|ferienabwesenheit|(?:ich bin )?nicht im buro|ich bin im urlaub"
    # Other languages: not the discussion's, but their mail servers answer too
    r"|risposta automatica|fuori (?:sede|ufficio)|automatisch antwoord|afwezigheidsbericht"
    r"|autosvar|automatisk svar|frav(?:ae|æ)rsbesked|automaattinen vastaus"
    r"|odpowiedz automatyczna|automatyczna odpowiedz|automaticka odpoved"
    r"|automatikus valasz|raspuns automat|otomatik yan[iı]t|ofiste degilim"
    r"|automatska poruka|αυτοματη απαντηση|εκτος γραφειου"
    r"|автоответ|автоматически\w ответ|автоматичн\w* відповідь|автовідповідь|меня нет в офисе"
    r"|رد تلقائي|תשובה אוטומטית|自動返信|自動応答|不在通知|自动回复|自動回覆|자동 ?응답|부재중 ?자동"
    r"|balasan otomatis|tra loi tu (?:d|đ)ong)"
    r"|^(?:on vacation|ausente|ausencia|absence|absent|abwesend|abwesenheit|urlaub"
    r"|en vacances|en conges|conges|de vacaciones|de ferias|afwezig|frav(?:ae|æ)r|nieobecnosc"
    r"|absencia|poissaolo|休假|부재중)\s*(?::|$)"
)


def _fold(text: str) -> str:
    """Lower case without accents, for comparing subjects across clients."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _values(headers: Headers, name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def _index(headers: Headers) -> dict[str, list[str]]:
    """Every header's values by lower-case name, read in one pass."""
    index: dict[str, list[str]] = {}
    for key, value in headers:
        index.setdefault(key.lower(), []).append(value)
    return index


def _first_of(index: dict[str, list[str]], name: str) -> str:
    found = index.get(name)
    return found[0].strip() if found else ""


def _address_of(field_value: str) -> str:
    """The address of a DSN field such as ``rfc822; user@example.org``."""
    kind, _, rest = field_value.partition(";")
    candidate = rest if rest else kind
    m = _ADDRESS.search(candidate)
    return m.group(1).lower() if m else ""


def parse_dsn(
    blocks: Sequence[Sequence[tuple[str, str]]],
    *,
    original_message_id: str | None = None,
) -> BounceReport | None:
    """The failed recipients of an RFC 3464 message/delivery-status, or None when empty."""
    if not blocks:
        return None
    recipients: list[str] = []
    statuses: list[str] = []
    diagnostic = ""
    permanent = False
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        fields = {key.lower(): value.strip() for key, value in reversed(block)}
        action = fields.get("action", "").lower()
        status_match = _STATUS.search(fields.get("status", ""))
        status = status_match.group(0) if status_match else ""
        if action in ("delivered", "relayed", "expanded"):
            continue
        address = _address_of(fields.get("final-recipient", "")) or _address_of(
            fields.get("original-recipient", "")
        )
        if address and address not in recipients:
            recipients.append(address)
        if status:
            statuses.append(status)
        if action == "failed" or status.startswith("5"):
            permanent = True
        if not diagnostic and fields.get("diagnostic-code"):
            diagnostic = " ".join(fields["diagnostic-code"].split())[:500]
    if original_message_id is None:
        for key, value in blocks[0]:
            if key.lower() == "x-original-message-id":
                original_message_id = value.strip() or None
    if not recipients and not statuses:
        return BounceReport((), False, "", diagnostic, original_message_id)
    status = next(
        (s for s in statuses if s.startswith("5")), statuses[0] if statuses else ""
    )
    return BounceReport(
        tuple(recipients), permanent, status, diagnostic, original_message_id
    )


def parse_text_bounce(
    text: str, headers: Headers, *, own_domain: str = ""
) -> BounceReport:
    """What a plain-text failure notice (Exim, qmail, Exchange text) says, as well as can be read."""
    head = re.split(
        r"(?im)^.*(?:copy of the message|below this line|original message(?! was received)"
        r"|message d'origine"
        r"|mensaje original|urspr[üu]ngliche nachricht|text/rfc822-headers).*$",
        text,
        maxsplit=1,
    )[0][:20_000]
    recipients: list[str] = []
    for value in _values(headers, "x-failed-recipients"):
        for m in _ADDRESS.finditer(value):
            if m.group(1).lower() not in recipients:
                recipients.append(m.group(1).lower())
    if not recipients:
        for m in _ADDRESS.finditer(head):
            address = m.group(1).lower()
            domain = address.rsplit("@", 1)[1]
            local = address.split("@", 1)[0]
            if own_domain and (
                domain == own_domain or domain.endswith("." + own_domain)
            ):
                continue
            if local in _DAEMONS or local == "postmaster" or address in recipients:
                continue
            recipients.append(address)
            if len(recipients) >= 20:
                break
    if (
        not recipients
    ):  # sendmail's local delivery names the user only: "jo... User unknown"
        for m in _LOCAL_USER.finditer(head):
            local = m.group(1).lower()
            recipients.extend(
                a.group(1).lower()
                for a in _ADDRESS.finditer(text[:50_000])
                if a.group(1).lower().split("@", 1)[0] == local
            )
        recipients = list(dict.fromkeys(recipients))[:20]
    status_match = _STATUS.search(head)
    status = status_match.group(0) if status_match else ""
    folded = head.lower()
    if status:
        permanent = status.startswith("5")
    elif any(code == "5" for code in _SMTP_CODE.findall(head)) or "permanent" in folded:
        permanent = True
    else:  # a failure notice unless it says it is only a delay
        permanent = not any(
            w in folded for w in ("delay", "will be retried", "warning")
        )
    diagnostic = ""
    for line in head.splitlines():
        if _SMTP_CODE.search(line) or _STATUS.search(line):
            diagnostic = " ".join(line.split())[:500]
            break
    return BounceReport(tuple(recipients), permanent, status, diagnostic)


def _mentions_domain(value: str, own_domain: str) -> bool:
    return bool(own_domain) and own_domain.lower() in value.lower()


def _is_own_message_id(message_id: str | None, own_domain: str) -> bool:
    if not message_id or not own_domain:
        return False
    domain = message_id.strip("<>").rsplit("@", 1)[-1].lower()
    own = own_domain.lower()
    return domain == own or domain.endswith("." + own)


def classify(
    headers: Headers,
    *,
    subject: str = "",
    from_address: str = "",
    envelope_from: str | None = None,
    has_delivery_report: bool = False,
    message_id: str | None = None,
    own_domain: str = "",
    max_received: int = 30,
) -> MessageClass:
    """The class of a message from its headers, subject, senders and structure."""
    index = _index(headers)
    local = from_address.split("@", 1)[0].lower()
    content_type = _first_of(index, "content-type").lower()
    unprefixed = _REPLY_PREFIX.sub("", subject)
    folded_subject = _fold(unprefixed).strip()
    failure_subject = folded_subject.startswith(_FAILURE_SUBJECTS)
    null_sender = (
        envelope_from == "" or _first_of(index, "return-path").replace(" ", "") == "<>"
    )
    if (
        has_delivery_report
        or ("multipart/report" in content_type and "delivery-status" in content_type)
        or index.get("x-failed-recipients")
        or "x-ms-exchange-message-is-ndr" in index  # Exchange and Office 365 NDRs
        or _first_of(index, "x-mddsn-message").lower() == "yes"  # MDaemon
        or local in _DAEMONS
        or ((null_sender or local == "postmaster") and failure_subject)
    ):
        return MessageClass.BOUNCE
    if (
        any(_mentions_domain(v, own_domain) for v in index.get("x-loop", ()))
        or any(_mentions_domain(v, own_domain) for v in index.get("list-id", ()))
        or _is_own_message_id(message_id, own_domain)
        or len(index.get("received", ())) > max_received
    ):
        return MessageClass.LOOP
    auto_submitted = _first_of(index, "auto-submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return MessageClass.AUTO_REPLY
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply"):
        value = _first_of(index, name).lower()
        if index.get(name) and value not in ("no", "false", "0"):
            return MessageClass.AUTO_REPLY
    # Exchange marks its own out-of-office and other automatic answers so that
    # they are not answered in turn; a person's Outlook never sends it.
    suppress = _first_of(index, "x-auto-response-suppress").lower()
    if any(w in suppress for w in ("all", "oof", "autoreply")):
        return MessageClass.AUTO_REPLY
    precedence = _first_of(index, "precedence") or _first_of(index, "x-precedence")
    if precedence.lower() in ("bulk", "junk", "list", "auto_reply"):
        return MessageClass.AUTO_REPLY
    if index.get("x-autoreply-from"):  # vacation(1) style responders name the mailbox
        return MessageClass.AUTO_REPLY
    if (
        "multipart/report" in content_type
        and "disposition-notification" in content_type
    ):
        return MessageClass.AUTO_REPLY
    # Folding takes Hangul, kana and some Arabic letters apart: those scripts
    # are compared as written (case-folded only).
    plain_subject = unprefixed.strip().casefold()
    if (
        null_sender
        or _AUTO_SUBJECT.match(folded_subject)
        or _AUTO_SUBJECT.match(plain_subject)
    ):
        return MessageClass.AUTO_REPLY
    return MessageClass.NORMAL
