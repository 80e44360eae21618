"""Threading by Message-ID, In-Reply-To and References only."""

from __future__ import annotations

from mailer.core.threads import (
    MAX_AWAITED,
    KnownPost,
    ThreadPlace,
    WaitingPost,
    adoptions,
    awaited_ids,
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


def _awaited(
    irt: tuple[str, ...] = (),
    refs: tuple[str, ...] = (),
    own: str = "<new@y>",
    via: ThreadPlace | None = None,
) -> tuple[str, ...]:
    where = via if via is not None else place(irt, refs, own)
    assert where is not None
    return awaited_ids(
        where,
        own_message_id=own,
        in_reply_to=irt,
        references=refs,
        slug=SLUG,
        domain=DOMAIN,
    )


ROOT3 = f"<q3.{SLUG}@{DOMAIN}>"


def test_a_reply_placed_under_a_far_ancestor_awaits_the_nearer_ones() -> None:
    # Parent <m2> and grandparent <m1> unknown; P1 known further up.
    assert _awaited(("<m2>",), ("<p1@x>", "<m1>", "<m2>")) == ("<m2>", "<m1>")
    # Placed under its parent already: nothing to wait for.
    assert _awaited(("<p2@x>",), ("<p1@x>", "<p2@x>")) == ()


def test_a_reply_under_the_question_awaits_every_post_it_names() -> None:
    # The question root is a place, never a post that could arrive.
    assert _awaited(("<m2>",), (ROOT3, "<m1>", "<m2>")) == ("<m2>", "<m1>")
    by_address = ThreadPlace(3, None, "question address")
    assert _awaited(("<m2>",), ("<m1>", "<m2>"), via=by_address) == ("<m2>", "<m1>")


def test_a_reply_address_or_its_own_id_awaits_nothing() -> None:
    token = ThreadPlace(3, P1, "reply address")
    assert _awaited(("<m2>",), ("<m2>",), via=token) == ()
    by_address = ThreadPlace(3, None, "question address")
    assert _awaited(("<new@y>",), (), via=by_address) == ()


def test_awaited_ids_are_bounded() -> None:
    refs = tuple(f"<m{i}>" for i in range(100))
    by_address = ThreadPlace(3, None, "question address")
    awaited = _awaited((), refs, via=by_address)
    assert len(awaited) == MAX_AWAITED and awaited[0] == "<m99>"


def test_adoptions_refuse_loops() -> None:
    arrived = KnownPost(7, 3, "<m2>", ("<w1>", "<p1@x>"))
    waiting = [
        WaitingPost(11, "<w0>", 0),  # an ordinary late reply: moves
        WaitingPost(12, "<w1>", 0),  # the arrived post's own parent: would loop
        WaitingPost(7, "<m2>", 1),  # the arrived post itself
        WaitingPost(13, "<p1@x>", 2),  # its grandparent: would loop
    ]
    assert [w.post_id for w in adoptions(arrived, waiting)] == [11]
