"""RFC 5256 THREAD=REFERENCES and THREAD=ORDEREDSUBJECT."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from maa.mail import first_header, header_block, header_date, message_id, references
from maa.mail.threads import (
    ThreadMessage,
    ThreadNode,
    format_threads,
    thread_orderedsubject,
    thread_references,
)

from .corpus import THREAD_CORPUS
from .dovecot_compare import EXPECTED

START = datetime(2026, 11, 1, tzinfo=UTC)


def msg(
    id: int,
    subject: str = "subject",
    refs: tuple[str, ...] = (),
    day: int | None = None,
    message_id: str | None = "",
) -> ThreadMessage:
    return ThreadMessage(
        id=id,
        message_id=f"<m{id}@x>" if message_id == "" else message_id,
        references=refs,
        subject=subject,
        date=START + timedelta(days=id if day is None else day),
    )


def refs(*ids: int) -> tuple[str, ...]:
    return tuple(f"<m{i}@x>" for i in ids)


def threads(messages: list[ThreadMessage]) -> bytes:
    return format_threads(thread_references(messages))


def test_a_reply_chain_is_one_thread() -> None:
    assert threads([msg(1, "a"), msg(2, "Re: a", refs(1)), msg(3, "Re: a", refs(1, 2))]) == (
        b"(1 2 3)"
    )


def test_siblings_are_parenthesised_and_sorted_by_date() -> None:
    messages = [msg(1, "a"), msg(2, "b", refs(1), day=9), msg(3, "c", refs(1), day=5)]
    assert threads(messages) == b"(1 (3)(2))"


def test_unrelated_messages_are_separate_threads_in_date_order() -> None:
    assert threads([msg(1, "x", day=3), msg(2, "y", day=1), msg(3, "z", day=2)]) == (b"(2)(3)(1)")


def test_a_missing_parent_becomes_a_dummy_joining_its_replies() -> None:
    assert threads([msg(2, "Re: lost", refs(9)), msg(3, "Re: lost", refs(9))]) == b"((2)(3))"


def test_a_dummy_root_with_one_child_is_dropped() -> None:
    assert threads([msg(2, "Re: lost", refs(8, 9)), msg(4, "other")]) == b"(2)(4)"


def test_references_missing_from_the_middle_still_link() -> None:
    messages = [msg(1, "a"), msg(3, "Re: a", refs(1, 2))]  # 2 is not in the mailbox
    assert threads(messages) == b"(1 3)"


def test_a_reply_without_references_joins_by_subject() -> None:
    assert threads([msg(1, "Hello"), msg(2, "Re: hello")]) == b"(1 2)"


def test_two_originals_with_one_subject_share_a_dummy() -> None:
    assert threads([msg(1, "Hello"), msg(2, "Hello")]) == b"((1)(2))"


def test_empty_subjects_are_not_merged() -> None:
    assert threads([msg(1, ""), msg(2, "Re:")]) == b"(1)(2)"


def test_reference_loops_do_not_hang_or_lose_messages() -> None:
    messages = [msg(1, "a", refs(2)), msg(2, "b", refs(1)), msg(3, "c", refs(3))]
    out = threads(messages)
    assert sorted(int(n) for n in re.findall(rb"\d+", out)) == [1, 2, 3]


def test_duplicate_and_missing_message_ids_keep_every_message() -> None:
    messages = [
        msg(1, "a", message_id="<same@x>"),
        msg(2, "b", message_id="<same@x>"),
        msg(3, "c", message_id=None),
        msg(4, "Re: a", refs=("<same@x>",)),
    ]
    assert threads(messages) == b"(1 4)(2)(3)"


def test_orderedsubject_groups_by_base_subject() -> None:
    messages = [
        msg(1, "Hello", day=1),
        msg(2, "Other", day=2),
        msg(3, "Re: hello", day=3),
        msg(4, "[list] RE: HELLO (fwd)", day=4),
        msg(5, "Re: other", day=5),
        msg(6, "alone", day=0),
    ]
    assert format_threads(thread_orderedsubject(messages)) == b"(6)(1 (3)(4))(2 5)"


def _ids(nodes: list[ThreadNode]) -> list[int]:
    out: list[int] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.message is not None:
            out.append(node.message.id)
        stack += node.children
    return out


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(1, 12), max_size=4),
            st.sampled_from(["a", "Re: a", "b", "Fwd: b", "", "[x] c"]),
            st.integers(0, 3),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_every_message_appears_exactly_once(
    specs: list[tuple[list[int], str, int, bool]],
) -> None:
    messages = [
        msg(i, subject, refs(*references), day=day, message_id=None if no_id else "")
        for i, (references, subject, day, no_id) in enumerate(specs, start=1)
    ]
    for roots in (thread_references(messages), thread_orderedsubject(messages)):
        assert sorted(_ids(roots)) == [m.id for m in messages]
        wire = format_threads(roots)
        depth = 0
        for byte in wire:
            depth += {0x28: 1, 0x29: -1}.get(byte, 0)
            assert depth >= 0
        assert depth == 0


def _from_corpus() -> list[ThreadMessage]:
    out = []
    for number, raw in enumerate(THREAD_CORPUS, start=1):
        headers = header_block(raw)
        date = header_date(headers)
        assert date is not None
        out.append(
            ThreadMessage(
                id=number,
                message_id=message_id(headers),
                references=tuple(references(headers)),
                subject=first_header(headers, "subject") or "",
                date=date,
            )
        )
    return out


def test_references_threads_match_dovecot() -> None:
    expected = EXPECTED["__threads__"]["REFERENCES"].encode()
    assert format_threads(thread_references(_from_corpus())) == expected


def test_orderedsubject_threads_match_dovecot() -> None:
    expected = EXPECTED["__threads__"]["ORDEREDSUBJECT"].encode()
    assert format_threads(thread_orderedsubject(_from_corpus())) == expected


def test_a_root_put_under_a_new_dummy_is_not_merged_twice() -> None:
    # Found by hypothesis: 6 took the subject-table slot from a dummy, was then put under a
    # new dummy with 3, and was merged a second time when the loop reached it.
    messages = [
        msg(1, "a", day=0),
        msg(2, "a", day=0),
        msg(3, "b", day=0),
        msg(4, "a", refs(4), day=1, message_id=None),
        msg(5, "Fwd: b", refs(4), day=0),
        msg(6, "b", day=0),
    ]
    roots = thread_references(messages)
    assert sorted(_ids(roots)) == [1, 2, 3, 4, 5, 6]


def test_a_reply_chain_deeper_than_the_recursion_limit_threads() -> None:
    # Anyone can mail a mailbox thousands of messages that each reply to the previous one.
    depth = 5000
    messages = [msg(1, "chain")] + [msg(i, "Re: chain", refs(i - 1)) for i in range(2, depth + 1)]
    wire = format_threads(thread_references(messages))
    assert wire == b"(" + b" ".join(b"%d" % i for i in range(1, depth + 1)) + b")"


def test_a_dummy_in_the_subject_table_keeps_its_place() -> None:
    # Found against Dovecot: an original message must not take the subject-table slot from
    # a dummy whose first child is a reply; it joins the dummy instead.
    messages = [
        msg(1, "Re: a", day=1),
        msg(2, "Re: a", refs(9), day=2),
        msg(3, "Fwd: a", refs(9), day=3),
        msg(4, "a", day=4),
    ]
    assert threads(messages) == b"((1)(2)(3)(4))"
