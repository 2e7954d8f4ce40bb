"""The RFC 5258 section 5 examples not covered by test_listext (examples 7, 8 and its cases
A, A1, A2, B and C, the multiple-pattern CHILDINFO example and the missing-hierarchy example)
and the RFC 5819 LIST-STATUS example, each on the wire against the exact mailbox and
subscription tree the RFC describes ("." for the RFC's "/").

Each test starts by removing the folders and subscriptions maa creates at login, so the
tree is the RFC's and nothing else. Responses are compared as (attributes, name, CHILDINFO)
with attribute case ignored and, as RFC 5258 leaves it free, the order of LIST lines too.
Where the RFC shows a choice of its example server (\\Marked, \\NoInferiors, \\HasChildren
without RETURN (CHILDREN)) the comment says so and maa's own, equally allowed, answer is
asserted. Two strict xfails hold the RFC's answer where maa differs: a level that exists
only in its children's names (case A2, and music in the missing-hierarchy example) is a
\\Noselect folder to maa, where the RFC has \\NonExistent or leaves it out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator

import pytest
import pytest_twisted
from clients import ALICE, RawClient
from support import PASSWORD
from twisted.internet import threads
from twisted.internet.defer import Deferred

DEFAULTS = (b"Drafts", b"Junk", b"Sent", b"Trash")
LIST_LINE = re.compile(
    rb'\* LIST \(([^)]*)\) "\." ("(?:[^"\\]|\\.)*"|\S+)( \("CHILDINFO" \("SUBSCRIBED"\)\))?\Z'
)

Listed = tuple[frozenset[str], str, bool]


def bare_tree(port: int) -> RawClient:
    """A logged-in client whose account holds INBOX only, with no subscriptions."""
    raw = RawClient(port)
    assert raw.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())[-1].startswith(b"l OK")
    for name in DEFAULTS:
        assert raw.command(b"d", b"DELETE " + name)[-1].startswith(b"d OK")
    for name in (b"INBOX", *DEFAULTS):
        raw.command(b"u", b"UNSUBSCRIBE " + name)
    assert raw.command(b"x", b'LIST (SUBSCRIBED) "" "*"') == [b"x OK LIST completed"]
    return raw


def run(raw: RawClient, *commands: bytes) -> None:
    for command in commands:
        assert raw.command(b"p", command)[-1].startswith(b"p OK"), command


def parse(line: bytes) -> Listed:
    found = LIST_LINE.match(line)
    assert found, line
    attributes = frozenset(a.upper() for a in found.group(1).decode().split())
    name = found.group(2).decode()
    if name.startswith('"'):
        name = name[1:-1]
    return attributes, name, found.group(3) is not None


def listing(raw: RawClient, command: bytes) -> set[Listed]:
    lines = raw.command(b"t", command)
    assert lines[-1] == b"t OK LIST completed", lines
    got = [parse(line) for line in lines[:-1]]
    assert len(got) == len(set(got)), lines  # no name twice
    return set(got)


def entry(attributes: str, name: str, childinfo: bool = False) -> Listed:
    return frozenset(attributes.upper().split()), name, childinfo


def in_thread(body: Callable[[int], None]) -> Callable[[int], Deferred[None]]:
    """A test running ``body(imap_port)`` off the reactor thread, which serves the port."""

    @pytest_twisted.inlineCallbacks
    def test(imap_port: int) -> Generator[Deferred[None], None, None]:
        yield threads.deferToThread(body, imap_port)

    test.__name__ = body.__name__
    test.__doc__ = body.__doc__
    return test


def example_7_multiple_patterns(port: int) -> None:
    """RFC 5258 example 7: LIST "" ("INBOX" "Drafts" "Sent/%"). The RFC's server marks
    Drafts and Sent/December2003 \\Marked; maa keeps no \\Marked state, which the RFC
    leaves optional."""
    raw = bare_tree(port)
    run(raw, b"CREATE Drafts", b"CREATE Sent.March2004", b"CREATE Sent.December2003")
    run(raw, b"CREATE Sent.August2004", b"CREATE Unlisted.Foo")
    assert listing(raw, b'LIST "" ("INBOX" "Drafts" "Sent.%")') == {
        entry("", "INBOX"),
        entry("", "Drafts"),
        entry("", "Sent.March2004"),
        entry("", "Sent.December2003"),
        entry("", "Sent.August2004"),
    }
    raw.close()


def hierarchy_of_example_8(port: int) -> RawClient:
    raw = bare_tree(port)
    run(raw, b"CREATE Foo", b"CREATE Foo.Bar", b"CREATE Foo.Baz", b"CREATE Moo")
    return raw


def example_8_children(port: int) -> None:
    """RFC 5258 example 8, first part: LIST "" * and LIST "" % RETURN (CHILDREN). The RFC's
    INBOX is (\\Marked \\NoInferiors), a property of its server; maa's INBOX can have
    children, so it says \\HasNoChildren."""
    raw = hierarchy_of_example_8(port)
    assert listing(raw, b'LIST "" "*"') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\HasChildren", "Foo"),
        entry("\\HasNoChildren", "Foo.Bar"),
        entry("\\HasNoChildren", "Foo.Baz"),
        entry("\\HasNoChildren", "Moo"),
    }
    assert listing(raw, b'LIST "" "%" RETURN (CHILDREN)') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\HasChildren", "Foo"),
        entry("\\HasNoChildren", "Moo"),
    }
    raw.close()


def example_8a_only_a_child_subscribed(port: int) -> None:
    """Case A: only Foo/Baz is subscribed."""
    raw = hierarchy_of_example_8(port)
    run(raw, b"SUBSCRIBE Foo.Baz")
    assert listing(raw, b'LIST (SUBSCRIBED) "" "*"') == {entry("\\Subscribed", "Foo.Baz")}
    assert listing(raw, b'LIST (SUBSCRIBED) "" "%"') == set()
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == {
        entry("", "Foo", childinfo=True)
    }
    raw.close()


def example_8a1_parent_subscribed_too(port: int) -> None:
    """Case A1: Foo is subscribed as well. The RFC allows \\HasChildren here; maa leaves
    it to RETURN (CHILDREN), which the second command asks for."""
    raw = hierarchy_of_example_8(port)
    run(raw, b"SUBSCRIBE Foo.Baz", b"SUBSCRIBE Foo")
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == {
        entry("\\Subscribed", "Foo", childinfo=True)
    }
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)') == {
        entry("\\Subscribed \\HasChildren", "Foo", childinfo=True)
    }
    raw.close()


def example_8a2_parent_not_in_hierarchy(port: int) -> None:
    """Case A2: Foo is no mailbox (deleted; Foo/Bar and Foo/Baz remain) and only Foo/Baz is
    subscribed: the RFC answers (\\NonExistent) Foo with CHILDINFO."""
    raw = hierarchy_of_example_8(port)
    run(raw, b"SUBSCRIBE Foo.Baz", b"DELETE Foo")
    got = listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    raw.close()
    assert got == {entry("\\NonExistent", "Foo", childinfo=True)}, got


def example_8a2_what_maa_answers(port: int) -> None:
    """Case A2 as maa answers it today: Foo is listed for its subscribed child, once, with
    CHILDINFO, and cannot be selected."""
    raw = hierarchy_of_example_8(port)
    run(raw, b"SUBSCRIBE Foo.Baz", b"DELETE Foo")
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == {
        entry("\\Noselect", "Foo", childinfo=True)
    }
    raw.close()


def example_8b_nothing_subscribed(port: int) -> None:
    """Case B: no subscriptions, so no responses, though Foo has children."""
    raw = hierarchy_of_example_8(port)
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == set()
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)') == set()
    raw.close()


def example_8c_siblings_subscribed(port: int) -> None:
    """Case C: Foo and Moo subscribed; Foo has children but none subscribed, so \\HasChildren
    and no CHILDINFO."""
    raw = hierarchy_of_example_8(port)
    run(raw, b"SUBSCRIBE Foo", b"SUBSCRIBE Moo")
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)') == {
        entry("\\HasChildren \\Subscribed", "Foo"),
        entry("\\HasNoChildren \\Subscribed", "Moo"),
    }
    raw.close()


def example_childinfo_without_children(port: int) -> None:
    """The multiple-pattern example: foo exists, foo/bar is subscribed but does not exist.
    CHILDINFO on foo does not make it \\HasChildren."""
    raw = bare_tree(port)
    run(raw, b"CREATE foo", b"SUBSCRIBE foo.bar")
    assert listing(raw, b'LIST "" ("foo" "foo.*")') == {entry("", "foo")}
    assert listing(raw, b'LIST (SUBSCRIBED) "" "foo.*"') == {
        entry("\\Subscribed \\NonExistent", "foo.bar")
    }
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)') == {
        entry("\\HasNoChildren", "foo", childinfo=True)
    }
    raw.close()


def example_missing_hierarchy_elements(port: int) -> None:
    """The missing-hierarchy example, local part (maa has no remote mailboxes, so REMOTE
    adds none): music/rock exists, music does not. The RFC's server volunteers
    \\HasChildren on LIST () "" %; maa gives it when RETURN (CHILDREN) asks, and names
    music \\Noselect (see the A2 case). For LIST "" (% music/rock) the RFC lets a server
    list music or not; maa does."""
    raw = bare_tree(port)
    run(raw, b"CREATE music.rock", b"DELETE music")
    # The RFC lists only music/rock here; maa adds music (see the xfail below).
    got = listing(raw, b'LIST (REMOTE) "" *')
    assert got - {entry("\\Noselect", "music")} == {entry("", "INBOX"), entry("", "music.rock")}
    assert listing(raw, b'LIST () "" %') == {entry("", "INBOX"), entry("\\Noselect", "music")}
    assert listing(raw, b'LIST (REMOTE) "" % RETURN (CHILDREN)') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\Noselect \\HasChildren", "music"),
    }
    got = listing(raw, b'LIST "" (% music.rock)')
    assert entry("", "music.rock") in got
    assert got <= {entry("", "INBOX"), entry("\\Noselect", "music"), entry("", "music.rock")}
    raw.close()


def example_missing_parent_left_out_of_star(port: int) -> None:
    """The missing-hierarchy example's first command: with "*" matching music/rock itself,
    the RFC's answer leaves the missing parent music out."""
    raw = bare_tree(port)
    run(raw, b"CREATE music.rock", b"DELETE music")
    got = listing(raw, b'LIST (REMOTE) "" *')
    raw.close()
    assert got == {entry("", "INBOX"), entry("", "music.rock")}, got


def append(raw: RawClient, folder: bytes, count: int, seen: int) -> None:
    for i in range(count):
        body = b"Subject: m%d\r\n\r\nbody\r\n" % i
        flags = b"(\\Seen) " if i < seen else b""
        raw.send(b"a APPEND %s %s{%d+}\r\n%s\r\n" % (folder, flags, len(body), body))
        assert raw.until_tagged(b"a")[-1].startswith(b"a OK")


def rfc5819_list_status(port: int) -> None:
    """RFC 5819 section 3: LIST "" % RETURN (STATUS (MESSAGES UNSEEN)) over INBOX (17
    messages, 16 unseen), foo (30, 29) and bar, a \\NoSelect level: a STATUS right after
    the LIST line of each selectable mailbox, none for bar."""
    raw = bare_tree(port)
    run(raw, b"CREATE foo", b"CREATE bar.baz", b"DELETE bar")
    append(raw, b"INBOX", 17, 1)
    append(raw, b"foo", 30, 1)
    lines = raw.command(b"t", b'LIST "" % RETURN (STATUS (MESSAGES UNSEEN))')
    raw.close()
    assert lines[-1] == b"t OK LIST completed"
    statuses = {
        b"INBOX": b"* STATUS INBOX (MESSAGES 17 UNSEEN 16)",
        b"foo": b"* STATUS foo (MESSAGES 30 UNSEEN 29)",
    }
    listed = set()
    body = lines[:-1]
    i = 0
    while i < len(body):
        attributes, name, childinfo = parse(body[i])
        listed.add((attributes, name, childinfo))
        status = statuses.get(name.encode())
        if status is not None:
            assert body[i + 1] == status, lines
            i += 1
        i += 1
    assert listed == {entry("", "INBOX"), entry("", "foo"), entry("\\NoSelect", "bar")}
    assert sum(line.startswith(b"* STATUS") for line in body) == 2, lines


test_example_7_multiple_patterns = in_thread(example_7_multiple_patterns)
test_example_8_children = in_thread(example_8_children)
test_example_8a_only_a_child_subscribed = in_thread(example_8a_only_a_child_subscribed)
test_example_8a1_parent_subscribed_too = in_thread(example_8a1_parent_subscribed_too)
test_example_8a2_parent_not_in_hierarchy = pytest.mark.xfail(
    strict=True,
    reason="a parent that exists only as a level of its children's names is listed "
    "\\Noselect, not \\NonExistent: FolderInfo.selectable cannot tell it from an mbox "
    "directory, which does exist",
)(in_thread(example_8a2_parent_not_in_hierarchy))
test_example_8a2_what_maa_answers = in_thread(example_8a2_what_maa_answers)
test_example_8b_nothing_subscribed = in_thread(example_8b_nothing_subscribed)
test_example_8c_siblings_subscribed = in_thread(example_8c_siblings_subscribed)
test_example_childinfo_without_children = in_thread(example_childinfo_without_children)
test_example_missing_hierarchy_elements = in_thread(example_missing_hierarchy_elements)
test_example_missing_parent_left_out_of_star = pytest.mark.xfail(
    strict=True,
    reason="a level that exists only in its children's names is listed as a \\Noselect "
    "folder wherever it matches, for the same reason as case A2",
)(in_thread(example_missing_parent_left_out_of_star))
test_rfc5819_list_status = in_thread(rfc5819_list_status)
