"""Threading by Message-ID, In-Reply-To and References only."""

from __future__ import annotations

from mailer.core.threads import (
    KnownPost,
    candidate_ids,
    find_thread,
    makes_loop,
    question_root_number,
)

SLUG, DOMAIN = "skills-covid19", "discuss.example.org"
P1 = KnownPost(1, 3, "<p1@x>")
P2 = KnownPost(2, 3, "<p2@x>", ("<p1@x>",))
P9 = KnownPost(9, 5, "<p9@x>")
KNOWN = {p.message_id: p for p in (P1, P2, P9)}


def place(irt: tuple[str, ...] = (), refs: tuple[str, ...] = (), own: str = "<new@y>"):  # type: ignore[no-untyped-def]
    return find_thread(
        own_message_id=own,
        in_reply_to=irt,
        references=refs,
        known_posts=KNOWN,
        slug=SLUG,
        domain=DOMAIN,
    )


def test_candidates_nearest_first_without_duplicates() -> None:
    assert candidate_ids(("<c>",), ("<a>", "<b>", "<c>")) == ("<c>", "<b>", "<a>")
    assert candidate_ids((), ()) == ()


def test_question_root_ids() -> None:
    assert question_root_number(f"<q3.{SLUG}@{DOMAIN}>", SLUG, DOMAIN) == 3
    assert question_root_number(f"<Q11.{SLUG}@DISCUSS.example.org>", SLUG, DOMAIN) == 11
    assert question_root_number(f"<q3.other@{DOMAIN}>", SLUG, DOMAIN) is None
    assert question_root_number(f"<q3.{SLUG}@evil.example>", SLUG, DOMAIN) is None
    assert question_root_number(f"<q0.{SLUG}@{DOMAIN}>", SLUG, DOMAIN) is None
    assert question_root_number("<p1@x>", SLUG, DOMAIN) is None


def test_in_reply_to_a_known_post() -> None:
    found = place(irt=("<p2@x>",))
    assert found is not None and found.parent == P2 and found.question_number == 3


def test_references_last_entry_is_the_parent() -> None:
    found = place(refs=("<p1@x>", "<unknown@z>", "<p2@x>"))
    assert found is not None and found.parent == P2


def test_unknown_parent_falls_back_to_an_older_reference() -> None:
    found = place(refs=("<p1@x>", "<gone@z>"))
    assert found is not None and found.parent == P1


def test_reply_to_an_announcement_threads_under_its_question() -> None:
    found = place(refs=(f"<q4.{SLUG}@{DOMAIN}>",), irt=("<announce.abc@x>",))
    assert found is not None and found.parent is None and found.question_number == 4


def test_a_post_nearer_than_the_root_wins() -> None:
    found = place(refs=(f"<q3.{SLUG}@{DOMAIN}>", "<p9@x>"))
    assert found is not None and found.parent == P9 and found.question_number == 5


def test_no_known_header_gives_none() -> None:
    assert place(irt=("<x@y>",), refs=("<z@y>",)) is None
    assert place() is None


def test_own_message_id_is_never_its_parent() -> None:
    assert place(irt=("<new@y>",), own="<new@y>") is None


def test_parent_loops_are_refused() -> None:
    looped = KnownPost(7, 3, "<p7@x>", ("<new@y>",))
    assert makes_loop("<new@y>", looped)
    assert makes_loop(None, KnownPost(8, 3, "<a@x>", ("<b@x>", "<a@x>")))
    assert not makes_loop("<new@y>", P2)
    found = find_thread(
        own_message_id="<new@y>",
        in_reply_to=("<p7@x>",),
        references=("<p1@x>",),
        known_posts={**KNOWN, "<p7@x>": looped},
        slug=SLUG,
        domain=DOMAIN,
    )
    assert found is not None and found.parent == P1
