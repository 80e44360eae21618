"""Bounces the header rules miss: flufl.bounce's detectors and the layouts they miss.

:func:`mailer.core.classify.classify` decides from headers alone. A failure
notice can come without any of its signals (a sender named ``Postmaster`` at
a Japanese carrier, an InterScan gateway writing as the original recipient's
domain, an old Exchange NDR with a subject in the user's language), so for
mail that *looks machine-made* two more readers run on the body:

* flufl.bounce (the detectors GNU Mailman uses, PyPI ``flufl.bounce``): DSN,
  Exim, qmail, Postfix, Exchange, GroupWise, Yahoo and a dozen heuristic
  layouts. It does no I/O, but it costs milliseconds a message, which is why
  it runs only behind :func:`looks_machine_made`;
* :data:`_LAYOUTS`: the opening sentences of the failure notices flufl does not
  know (DragonFly, Apache James, OpenSMTPD, Courier, Domino, InterScan, FML,
  KDDI and the other Japanese carriers, Amazon SES, old Exchange, ...).

The failed recipients are the union of what the DSN fields, ``X-Failed-Recipients``
and flufl name; the addresses read from a notice's free text count only when
none of those named any (free text names the postmaster, the host and the
sender too). Only plausible addresses are kept: never our own domain's, never
a daemon's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from email.message import Message

from mailer.core.classify import parse_dsn, parse_text_bounce
from mailer.core.message import BounceReport, MessageClass

Headers = Sequence[tuple[str, str]]

_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"
)
_DAEMON_LOCALS = frozenset(
    {
        "mailer-daemon", "mail-daemon", "maildaemon", "mailerdaemon", "postmaster",
        "noreply", "no-reply", "do-not-reply", "donotreply", "bounce", "bounces",
        "root", "nobody",
    }
)  # fmt: skip


class AsciiFolded:
    """A case-insensitive search that runs on ASCII text as a case-sensitive one.

    On ASCII text IGNORECASE finds the same as the lower-case pattern over the
    lower-cased text (the pattern's letters are all lower case, and it holds
    none of the four non-ASCII letters IGNORECASE ties to ASCII ones), at a
    fifth of the cost; other text goes to the IGNORECASE pattern.

    *words*: literal words one of which every match holds (an alternative
    written in non-ASCII letters alone needs none: it never matches ASCII
    text). ASCII text that holds none of them is not searched at all: a few
    substring tests cost a tenth of a search of an alternation the regex
    engine must try at every character. tests/unit/test_robots.py holds every
    alternative to one of them.
    """

    FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"  # İ ı ſ K (Kelvin)

    def __init__(self, pattern: str, words: tuple[str, ...] = ()) -> None:
        if pattern != pattern.lower() or any(c in pattern for c in self.FOLDS_TO_ASCII):
            raise ValueError("the pattern must be in lower case, without İ ı ſ K")
        if any(w != w.lower() or not w.isascii() for w in words):
            raise ValueError("the words must be in lower-case ASCII")
        self.anycase = re.compile(pattern, re.IGNORECASE)
        self.lower = re.compile(pattern)
        self.words = words

    def found(self, text: str) -> bool:
        """True when the pattern occurs in *text*, in any case."""
        if text.isascii():
            lower = text.lower()
            if self.words and not any(map(lower.__contains__, self.words)):
                return False
            return self.lower.search(lower) is not None
        return self.anycase.search(text) is not None


# A sender that is a machine: the local part or the display name says so.
_ROBOT_SENDER = AsciiFolded(
    r"mailer-?daemon|mail-?daemon|postmaster|post\s?master|mail\s?delivery|delivery\s?(?:sub)?system"
    r"|mail\s?system|mail\s?administrator|system\s?administrator|mail\s?admin|mailadmin"
    r"|bounce|interscan|\bfml\b|-admin@|-owner@|owner-|\bmta\b|\bsmtp\b|no-?reply|notification"
    r"|auto-?reply|autoresponder|\bdaemon\b|microsoftexchange|microsoft outlook|gateway|mailgw",
    words=(
        "mail", "daemon", "master", "deliver", "system", "bounce", "interscan", "fml",
        "admin", "owner", "mta", "smtp", "reply", "notification", "autoresponder",
        "microsoft", "gateway",
    ),
)  # fmt: skip
# Subjects of failure and delay notices, in the languages their servers write.
_ROBOT_SUBJECT = AsciiFolded(
    r"undeliver|not delivered|delivery (?:status|fail|notif|report|problem|delay|error|incomplete)"
    r"|returned mail|return(?:ed|ing)(?: message)? to sender|failure notice|delivery failure"
    r"|mail system error|(?:could ?not|couldn'?t|cannot|can'?t) be delivered|was ?n(?:o|')t delivered"
    r"|mail delivery|\[bounce\]|^bounce"
    r"|non remis|non distribu|[ée]chec de (?:la )?remise|no se puede entregar|no entregado"
    r"|unzustellbar|nicht zustellbar|n[aã]o entregue|n[aã]o foi poss[ií]vel entregar|non consegnato"
    r"|onbestelbaar|ikke levert|kunde inte levereras|niedostarczon|недостав|не доставлен"
    r"|ошибка доставки|配信|送信エラー|エラー|返送|退信|退回|未送达|발송 실패|전송 실패|반송",
    words=(
        "deliver", "return", "failure", "mail system", "bounce", "non ", "chec de ",
        "entreg", "zustellbar", "onbestelbaar", "lever", "niedostarczon",
    ),
)  # fmt: skip
_REPORT_TYPES = ("multipart/report", "message/delivery-status")

# The opening words of failure notices, as each MTA writes them. Each is
# specific enough that a person's mail never begins with it; they are searched
# in the notice's first few kilobytes only.
_LAYOUT_SENTENCES = (
    r"this is the qmail-send program",  # qmail, netqmail, vpopmail
    r"i'?m afraid i wasn'?t able to deliver your message",  # qmail, James
    r"this is the james mail server",  # Apache James
    r"this is the dragonfly mail agent",  # dma
    r"there was an error delivering your mail to",  # dma
    r"this is the mailer-daemon, please do not reply",  # OpenSMTPD
    r"an error has occurred while attempting to deliver a message",  # OpenSMTPD
    r"this is the mail system at host",  # Postfix
    r"this message was created automatically by mail delivery software",  # Exim
    r"a message that you sent could not be delivered",  # Exim, GMX, Mail.ru
    r"-{3,} ?transcript of session follows ?-{3,}",  # sendmail
    r"the following addresses had permanent fatal errors",  # sendmail
    r"the original message was received at",  # sendmail
    r"your message did not reach some or all of the intended recipients",
    r"delivery has failed to these recipients or groups",  # Exchange 2007+
    r"your message to .{1,200} couldn'?t be delivered",  # Office 365
    r"the following recipient\(s\) cannot be reached",  # Exchange 2003
    r"was not delivered to:.{0,200}because:",  # Lotus Domino
    r"not listed in (?:domino directory|public name & address book)",
    r"an error occurred while trying to deliver the mail to the following",  # SES
    r"sent <<< rcpt to:",  # InterScan MSS
    r"received >>> [45]\d\d",  # InterScan MSS
    r"the attached message had permanent fatal delivery errors",  # MDaemon
    r"running the courier mail server",  # Courier
    r"delivery to the following recipients? failed",  # Exchange 5.5, Notes
    r"sorry, we were unable to deliver your message",  # Yahoo
    r"the following message to <?[^>\s]+>? was undeliverable",  # Comcast style
    r"the message that you sent was undeliverable to the following",  # GroupWise
    r"your mail sent on:",  # KDDI au
    r"(?:could not|couldn'?t|cannot) be delivered to the following recipient",  # carriers
    r"the user\(s\) account is (?:disabled|temporarily over quota)",  # QQ English
    r"you are not a member of this mailing list",  # FML, list managers
    r"your message (?:was|has been) rejected by the mailing list",
    r"mail delivery failed: returning message to sender",  # Exim subject in body
    r"delivery to the following recipient has been delayed",  # Gmail delay
    r"this is an automatically generated delivery status notification",
)
# Searched in lower-cased text without IGNORECASE: six times faster.
_LAYOUTS = re.compile("|".join(_LAYOUT_SENTENCES), re.DOTALL)
# Words every match of some sentence above contains, literally: a text with
# none of them cannot open with a failure notice, and a person's mail skips
# the alternation (a few plain substring tests cost a tenth of one search).
# tests/unit/test_robots.py holds each sentence to one of these words.
_LAYOUT_WORDS = (
    "qmail-send", "able to deliver your message", "mail server", "mail agent",
    "error delivering", "mailer-daemon", "attempting to deliver", "mail system",
    "mail delivery", "be delivered", "transcript of session", "permanent fatal",
    "original message was received", "did not reach", "delivery has failed",
    "cannot be reached", "was not delivered", "not listed in", "deliver the mail",
    "rcpt to:", "received >>>", "delivery to the following", "undeliverable",
    "your mail sent on:", "account is", "mailing list", "delivery status notification",
)  # fmt: skip
# Words any notice in a language may use, but so may a person: they count
# only from a sender that is a machine.
_NOTICE_PHRASES = (
    r"送信に失敗しました|配信できませんでした|宛先不明|届きませんでした",  # ja
    r"邮件被退回|系统退信|无法发送到|投递失败|退信原因|未能投递|无法投递",  # zh (QQ, 163)
    r"메일 전송에 실패|메일을 전달하지 못|받는 사람을 찾을 수 없",  # ko (Naver)
    r"не может быть доставлено|не удалось доставить|сообщение не доставлено",  # ru
    r"konnte nicht zugestellt werden|unzustellbar",  # de
    r"n'a pas pu (?:être|etre) remis|impossible de remettre",  # fr
    r"no se ha podido entregar|no pudo ser entregado",  # es
    r"não pôde ser entregue|nao pode ser entregue",  # pt
)
_NOTICE_WORDS = re.compile("|".join(_NOTICE_PHRASES))
# A notice that only says the mail is late: it is still being tried.
_DELAY = re.compile(
    r"delivery (?:to the following recipients? )?(?:has been |is )?delayed|will (?:continue to )?be retried"
    r"|will keep trying|not yet been delivered|no action is required on your part"
    r"|warning: message .{0,80} delayed|this is a warning message only",
    re.IGNORECASE,
)
_LAYOUT_WINDOW = 6_000
# What a receiving server answers when it refuses a recipient: from a machine,
# a notice that quotes one of these is a failure notice, whatever its layout.
_DIAGNOSTIC = re.compile(
    r"\b[45]\d\d[ -]#?[45]\.\d{1,3}\.\d{1,3}\b|user unknown|unknown user|no such user"
    r"|mailbox (?:unavailable|not found|is full|full|does not exist|disabled)"
    r"|recipient address rejected|address rejected|recipient not found|over quota"
    r"|quota exceeded|relaying denied|account (?:is )?disabled|does not exist"
    r"|host not found|no mailbox|invalid recipient|user not found|not found",
    re.IGNORECASE,
)
# The senders of delivery reports by convention (RFC 5321 4.5.1, RFC 3464).
_DAEMON_FROM = re.compile(r"^(?:mailer-?daemon|postmaster)@", re.IGNORECASE)
# Senders that never write as a person (postmaster may: the operator does).
# A mailing list manager's own addresses (Mailman, Sympa, ezmlm, Majordomo:
# "x-owner@", "owner-x@", "x-bounces@", "x-request@") answer as software too.
_NEVER_A_PERSON = re.compile(
    r"^(?:mailer-?daemon|mail-?daemon|no-?reply|do-?not-?reply|auto-?reply|autoresponder)[@+.-]"
    r"|^[^@]*-(?:owner|bounces?|request)@|^owner-[^@]*@",
    re.IGNORECASE,
)
# A read receipt in text (Outlook without MDN): "Read: <subject>" and a body
# that says when it was read.
_READ_SUBJECT = re.compile(
    r"^(?:read|lu|gelesen|le[ií]do|lido|letto|gelezen|l[äa]st|przeczytane|прочитано|已读|읽음)\s?:",
    re.IGNORECASE,
)
_READ_BODY = re.compile(
    r"was read on|a été lu le|wurde am .{0,60} gelesen|fue leído|foi lido|è stato letto|is gelezen op",
    re.IGNORECASE,
)
# Challenge-response systems: "confirm you are a person before I accept your mail".
_CHALLENGE_SUBJECT = re.compile(
    r"please confirm (?:your|that you)|verification required|confirm your (?:message|e-?mail)"
    r"|awaiting (?:your )?confirmation|requires? (?:your )?(?:confirmation|verification)"
    r"|spam ?arrest|boxbe|is waiting for your approval",
    re.IGNORECASE,
)

# An absence notice without any header that says so: it opens with the
# absence, names when the person is back or whom to ask, and is short.
_ABSENCE_OPENING = re.compile(
    r"^(?:[^\n]{1,40}[,!]\s*\n\s*)?"  # a greeting line: "Bonjour,", "Dear sender,"
    r"(?:(?:thank you|thanks|merci|danke|gracias|obrigad[oa]|grazie) for your"
    r" (?:e-?mail|message)[.,!]?\s+)?"
    r"(?:(?:i am|i'm|i will be|i'll be) (?:currently |now )?(?:out of (?:the )?office|away"
    r"|on (?:annual |parental |sick )?leave|on (?:vacation|holiday)|travell?ing)"
    r"|this mailbox is no longer (?:monitored|in use)|i (?:have|no longer) (?:left|work)"
    r"|je suis (?:actuellement )?(?:absente?|en (?:cong[ée]s?|vacances|d[ée]placement))"
    r"|(?:estoy|me encuentro|estar[ée]) (?:fuera de la oficina|de vacaciones|ausente)"
    r"|(?:estou|estarei) (?:ausente|de f[ée]rias|fora do escrit[óo]rio)"
    r"|ich bin (?:derzeit |bis |vom |ab |leider )?.{0,40}(?:nicht im b[üu]ro|abwesend|im urlaub)"
    r"|(?:sono|sar[òo]) (?:fuori (?:sede|ufficio)|in ferie|assente)"
    r"|ik ben (?:afwezig|met vakantie|niet op kantoor)"
    r"|jestem (?:poza biurem|na urlopie|nieobecn[ya])"
    r"|я (?:в отпуске|нахожусь в отпуске|отсутствую))",
    re.IGNORECASE,
)
_ABSENCE_DETAIL = re.compile(
    r"until|back on|return|contact|urgent|access to (?:my )?e-?mail|jusqu|retour|urgent|contacter"
    r"|hasta|regres|urgente|contact|at[ée]|retorno|volta|bis (?:zum|einschlie)|zur[üu]ck|dringend"
    r"|fino al|rientro|urgenti|tot en met|terug|dringend|do dnia|powr|pilnych|до |вернусь|срочн",
    re.IGNORECASE,
)
_ABSENCE_MAX_CHARS = 500
_ANSWER = re.compile(r"^\s*(?:re|aw|sv|antw|odp|ynt|vs|r)\s?:", re.IGNORECASE)


def robot_sender(from_name: str, from_address: str) -> bool:
    """True when the From names a program: MAILER-DAEMON, Postmaster, Mail Delivery System."""
    return _ROBOT_SENDER.found(f"{from_name} {from_address}")


def looks_machine_made(
    headers: Headers, *, subject: str, robot: bool, replying: bool, text: str
) -> bool:
    """True for mail a program may have written: worth the cost of reading its body.

    *robot* is a null sender or a program's From. A person's mail with an
    ordinary subject and none of these signs skips the detectors, so the bulk
    of the traffic costs nothing more.
    """
    if robot:
        return True
    for name, value in headers:
        lower = name.lower()
        if lower == "content-type" and value.lower().startswith(_REPORT_TYPES):
            return True
        if lower in ("x-failed-recipients", "auto-submitted", "x-mlserver"):
            return True
    if _ROBOT_SUBJECT.found(subject):
        return True
    # A person's reply that quotes a failure notice is still a person's reply.
    return not replying and layout_of(text) is not None


def layout_of(text: str) -> str | None:
    """The failure notice sentence *text* opens with (in its first kilobytes), or None."""
    window = text[:_LAYOUT_WINDOW].lower()
    if not any(word in window for word in _LAYOUT_WORDS):
        return None
    found = _LAYOUTS.search(window)
    return found.group(0) if found else None


def notice_words(text: str) -> bool:
    """True when *text* says, in some language, that mail could not be delivered."""
    return _NOTICE_WORDS.search(text[:_LAYOUT_WINDOW].lower()) is not None


def is_delay(text: str) -> bool:
    """True when a notice says the mail is only late (RFC 3464 ``Action: delayed``)."""
    return _DELAY.search(text, 0, _LAYOUT_WINDOW) is not None


def detector_failures(msg: Message) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """flufl.bounce's (temporary, permanent) failed recipients of *msg*, lower case.

    A detector that fails on odd input (some read headers as plain strings)
    stops the scan; that is "nothing found", never an error of ours.
    """
    from flufl.bounce import all_failures  # only once a bounce is read

    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - a third-party heuristic on hostile mail
        return (), ()
    return _decoded(temporary), _decoded(permanent)


def _decoded(found: Iterable[bytes | str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in found:
        value = item.decode("ascii", "replace") if isinstance(item, bytes) else item
        value = value.strip().strip("<>").lower()
        if value and value not in out:
            out.append(value)
    return tuple(sorted(out))


def plausible(address: str, own_domain: str) -> bool:
    """True for an address a failed message could have gone to."""
    if len(address) > 254 or not _ADDRESS.fullmatch(address):
        return False
    local, _, domain = address.lower().rpartition("@")
    if local in _DAEMON_LOCALS or local.startswith("mailer-daemon"):
        return False
    own = own_domain.lower()
    return not own or (domain != own and not domain.endswith("." + own))


def read_robot(
    msg: Message | None,
    *,
    message_class: MessageClass,
    headers: Headers,
    subject: str,
    from_name: str,
    from_address: str,
    null_sender: bool,
    text: str,
    delivery_status: Sequence[Sequence[tuple[str, str]]],
    returned_message_id: str | None,
    own_domain: str,
) -> tuple[MessageClass, BounceReport | None]:
    """The class the header rules gave, raised to a bounce when the body is a failure
    notice (with the bounce's report), or to an auto-reply when the sender or a
    text read receipt or challenge says so (see the module docstring).

    *msg* is the parsed message for flufl.bounce, None when only its headers
    were read (over limits: nothing of its body is trusted).
    """
    if message_class is MessageClass.LOOP:
        return message_class, None
    robot = null_sender or robot_sender(from_name, from_address)
    replying = any(k.lower() in ("in-reply-to", "references") for k, _ in headers)
    if message_class is MessageClass.NORMAL and not looks_machine_made(
        headers, subject=subject, robot=robot, replying=replying, text=text
    ):
        return _auto_reply(subject, from_address, text, replying=replying), None
    structured = parse_dsn(delivery_status, original_message_id=returned_message_id)
    detected = detector_failures(msg) if msg is not None else ((), ())
    layout = layout_of(text)
    if not (
        message_class is MessageClass.BOUNCE
        or any(detected)
        or (structured is not None and structured.recipients)
        or (layout is not None and (robot or not replying))
        or (robot and notice_words(text))
        or (_DAEMON_FROM.match(from_address) and _ROBOT_SUBJECT.found(subject))
        or (null_sender and _ROBOT_SUBJECT.found(subject))
        or (
            robot
            and _ROBOT_SUBJECT.found(subject)
            and _DIAGNOSTIC.search(text, 0, _LAYOUT_WINDOW)
        )
    ):
        if message_class is MessageClass.NORMAL:
            return _auto_reply(subject, from_address, text, replying=replying), None
        return message_class, None
    free_text = parse_text_bounce(text, headers, own_domain=own_domain)
    named = [
        m.group(0).lower()
        for k, v in headers
        if k.lower() == "x-failed-recipients"
        for m in _ADDRESS.finditer(v)
    ]
    temporary, permanent = detected
    firm = [*(structured.recipients if structured else ()), *named]
    firm += [*permanent, *temporary]
    recipients = tuple(
        dict.fromkeys(
            a for a in (firm or free_text.recipients) if plausible(a, own_domain)
        )
    )
    # The DSN fields say it best; then a notice that says it is only a delay
    # (whatever header a detector read); then flufl, then the notice's codes.
    delayed = is_delay(subject) or is_delay(text)
    if structured is not None and (structured.recipients or structured.status):
        is_permanent = structured.permanent
    elif delayed and not free_text.status.startswith("5"):
        is_permanent = False
    else:
        is_permanent = bool(permanent) or free_text.permanent
    report = BounceReport(
        recipients,
        is_permanent,
        (structured.status if structured else "") or free_text.status,
        (structured.diagnostic if structured else "") or free_text.diagnostic,
        returned_message_id,
    )
    return MessageClass.BOUNCE, report


def _auto_reply(
    subject: str, from_address: str, text: str, *, replying: bool
) -> MessageClass:
    """AUTO_REPLY for a daemon's or no-reply sender, a text read receipt, a challenge,
    or an absence notice in the text alone."""
    if (
        _NEVER_A_PERSON.match(from_address)
        or (_READ_SUBJECT.match(subject) and _READ_BODY.search(text, 0, 2_000))
        # A challenge is new mail; "Re: Please confirm your subscription" is a
        # person answering our own confirmation request.
        or (
            not replying
            and not _ANSWER.match(subject)
            and _CHALLENGE_SUBJECT.search(subject) is not None
        )
        or _absence_notice(text)
    ):
        return MessageClass.AUTO_REPLY
    return MessageClass.NORMAL


def _absence_notice(text: str) -> bool:
    """True for a short text that opens with an absence and says until when or whom to ask."""
    body = text.strip()
    if len(body) > _ABSENCE_MAX_CHARS or "\n>" in body:
        return False
    return bool(_ABSENCE_OPENING.search(body) and _ABSENCE_DETAIL.search(body))
