"""The RFC 5258 section 5 examples not covered by test_listext (examples 7, 8 and its cases
A, A1, A2, B and C, 9 with CHILDINFO for children the pattern does and does not match, 10
with multiple patterns, 11 with missing hierarchy elements) and the RFC 5819 LIST-STATUS
example, each on the wire against the exact mailbox and subscription tree the RFC describes
("." for the RFC's "/").

Each test starts by removing the folders and subscriptions maa creates at login, so the
tree is the RFC's and nothing else. Responses are compared as (attributes, name, CHILDINFO)
with attribute case ignored and, as RFC 5258 leaves it free, the order of LIST lines too.
Where the RFC shows a choice of its example server (\\Marked, \\NoInferiors, \\HasChildren
without RETURN (CHILDREN)) the comment says so and maa's own, equally allowed, answer is
asserted.

A level that exists only in its children's names (Foo in case A2, qux2 in example 9, music
in example 11) is what a Maildir++ store has after DELETE of a parent: the examples that
have one run over the memory and the maildir driver. An mbox directory is the other kind of
level, a mailbox that exists and cannot be selected; the RFC 5819 example, whose bar is
\\NoSelect, runs over mbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from pathlib import Path

import pytest
import pytest_twisted
from clients import ALICE, RawClient
from support import PASSWORD, listen, write_config
from twisted.internet import threads
from twisted.internet.defer import Deferred

from maa.config import load_config

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


def serve(tmp_path: Path, driver: str) -> int:
    """The port of an in-process IMAP server on a fresh store of ``driver``."""
    from twisted.internet import reactor

    from maa.imap.server import build_factory
    from maa.service import build_context

    location = f"{driver}:{tmp_path}/mail/%d/%n"
    config = load_config(write_config(tmp_path / "etc", mail={"location": location}))
    return listen(build_factory(build_context(config, reactor), implicit_tls=False))


@pytest.fixture(params=["memory", "maildir"])
def level_port(request: pytest.FixtureRequest, tmp_path: Path) -> int:
    """A server whose store keeps a child when its parent is deleted, the parent then
    existing only in the child's name (Maildir++, and the memory driver like it)."""
    return serve(tmp_path, str(request.param))


@pytest.fixture
def mbox_port(tmp_path: Path) -> int:
    return serve(tmp_path, "mbox")


Body = Callable[[int], None]


def in_thread(body: Body) -> Callable[[int], Deferred[None]]:
    """A test running ``body(imap_port)`` off the reactor thread, which serves the port."""

    @pytest_twisted.inlineCallbacks
    def test(imap_port: int) -> Generator[Deferred[None], None, None]:
        yield threads.deferToThread(body, imap_port)

    test.__name__ = body.__name__
    test.__doc__ = body.__doc__
    return test


def with_missing_levels(body: Body) -> Callable[[int], Deferred[None]]:
    """``in_thread`` over each driver where a level can exist only in its children's names."""

    @pytest_twisted.inlineCallbacks
    def test(level_port: int) -> Generator[Deferred[None], None, None]:
        yield threads.deferToThread(body, level_port)

    test.__name__ = body.__name__
    test.__doc__ = body.__doc__
    return test


def on_mbox(body: Body) -> Callable[[int], Deferred[None]]:
    """``in_thread`` over mbox, where every level is a directory that exists."""

    @pytest_twisted.inlineCallbacks
    def test(mbox_port: int) -> Generator[Deferred[None], None, None]:
        yield threads.deferToThread(body, mbox_port)

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
    subscribed: the RFC answers (\\NonExistent) Foo with CHILDINFO. Plain LIST and LSUB
    still show Foo as RFC 3501 clients know it, \\Noselect."""
    raw = hierarchy_of_example_8(port)
    run(raw, b"SUBSCRIBE Foo.Baz", b"DELETE Foo")
    assert listing(raw, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == {
        entry("\\NonExistent", "Foo", childinfo=True)
    }
    assert raw.command(b"s", b"SELECT Foo")[-1].startswith(b"s NO")
    assert listing(raw, b'LIST "" "%"') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\Noselect \\HasChildren", "Foo"),
        entry("\\HasNoChildren", "Moo"),
    }
    assert raw.command(b"t", b'LSUB "" "%"') == [
        b'* LSUB (\\Noselect) "." Foo',
        b"t OK LSUB completed",
    ]
    raw.close()


def example_9_tree(port: int) -> RawClient:
    """Example 9's hierarchy, where qux2 exists only in the name of qux2/bar2."""
    raw = bare_tree(port)
    folders = [b"foo2.bar1", b"foo2.bar2", b"baz2.bar2", b"baz2.bar22", b"baz2.bar222"]
    folders += [b"eps2.mamba", b"qux2.bar2"]
    run(raw, *(b"CREATE " + name for name in folders), b"DELETE qux2")
    subscribed = [b"foo2.bar1", b"foo2.bar2", b"baz2.bar2", b"baz2.bar22", b"baz2.bar222"]
    subscribed += [b"eps2", b"eps2.mamba", b"qux2.bar2"]
    run(raw, *(b"SUBSCRIBE " + name for name in subscribed))
    return raw


def example_9_childinfo_whatever_the_pattern(port: int) -> None:
    """RFC 5258 example 9: CHILDINFO is returned whether or not the subscribed children
    match the pattern. D01, the whole tree, leaves out qux2, which is no mailbox; maa
    volunteers \\HasChildren and \\HasNoChildren on basic LIST, the RFC's server does not."""
    raw = example_9_tree(port)
    assert listing(raw, b'LIST "" "*"') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\HasChildren", "foo2"),
        entry("\\HasNoChildren", "foo2.bar1"),
        entry("\\HasNoChildren", "foo2.bar2"),
        entry("\\HasChildren", "baz2"),
        entry("\\HasNoChildren", "baz2.bar2"),
        entry("\\HasNoChildren", "baz2.bar22"),
        entry("\\HasNoChildren", "baz2.bar222"),
        entry("\\HasChildren", "eps2"),
        entry("\\HasNoChildren", "eps2.mamba"),
        entry("\\HasNoChildren", "qux2.bar2"),
    }
    assert listing(raw, b'LIST (SUBSCRIBED) "" "*"') == {
        entry("\\Subscribed", name)
        for name in (
            "foo2.bar1",
            "foo2.bar2",
            "baz2.bar2",
            "baz2.bar22",
            "baz2.bar222",
            "eps2",
            "eps2.mamba",
            "qux2.bar2",
        )
    }
    # D03 with "*2": the RFC's answer, without the two lines it allows and calls redundant
    # (baz2, all of whose subscribed children are listed, and qux2 likewise).
    assert listing(raw, b'LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"') == {
        entry("", "foo2", childinfo=True),
        entry("\\Subscribed", "foo2.bar2"),
        entry("\\Subscribed", "baz2.bar2"),
        entry("\\Subscribed", "baz2.bar22"),
        entry("\\Subscribed", "baz2.bar222"),
        entry("\\Subscribed", "eps2", childinfo=True),
        entry("\\Subscribed", "qux2.bar2"),
    }
    # D03 with "*": the RFC's server also lists foo2 and baz2 with CHILDINFO, which it says
    # is redundant; maa keeps to section 3.5's SHOULD and lists an unsubscribed parent only
    # for a child that is not listed itself. eps2 is subscribed, so it keeps its CHILDINFO.
    assert listing(raw, b'LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"') == {
        entry("\\Subscribed", "foo2.bar1"),
        entry("\\Subscribed", "foo2.bar2"),
        entry("\\Subscribed", "baz2.bar2"),
        entry("\\Subscribed", "baz2.bar22"),
        entry("\\Subscribed", "baz2.bar222"),
        entry("\\Subscribed", "eps2", childinfo=True),
        entry("\\Subscribed", "eps2.mamba"),
        entry("\\Subscribed", "qux2.bar2"),
    }
    # qux2, no mailbox, has a subscribed child "%" does not match: (\\NonExistent) + CHILDINFO
    # as the table in section 3.5 has it.
    assert listing(raw, b'LIST (RECURSIVEMATCH SUBSCRIBED) "" "%"') == {
        entry("", "foo2", childinfo=True),
        entry("", "baz2", childinfo=True),
        entry("\\Subscribed", "eps2", childinfo=True),
        entry("\\NonExistent", "qux2", childinfo=True),
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
    """RFC 5258 example 10, multiple patterns: foo exists, foo/bar is subscribed but does
    not exist. CHILDINFO on foo does not make it \\HasChildren."""
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
    """RFC 5258 example 11, local part (maa has no remote mailboxes, so REMOTE adds none):
    music/rock exists, music does not. With "%" music is listed (\\NonExistent \\HasChildren),
    the pair section 3.5 asks for where no CHILDINFO can say there is a child; with "*",
    or with a second pattern matching music/rock, music/rock is listed and music is not.
    Plain LIST "%" lists music \\Noselect, as RFC 3501 6.3.8 has levels of hierarchy."""
    raw = bare_tree(port)
    run(raw, b"CREATE music.rock", b"DELETE music")
    assert listing(raw, b'LIST (REMOTE) "" *') == {entry("", "INBOX"), entry("", "music.rock")}
    music = entry("\\NonExistent \\HasChildren", "music")
    assert listing(raw, b'LIST () "" %') == {entry("", "INBOX"), music}
    assert listing(raw, b'LIST (REMOTE) "" %') == {entry("", "INBOX"), music}
    assert listing(raw, b'LIST (REMOTE) "" % RETURN (CHILDREN)') == {
        entry("\\HasNoChildren", "INBOX"),
        music,
    }
    assert listing(raw, b'LIST "" (% music.rock)') == {
        entry("", "INBOX"),
        entry("", "music.rock"),
    }
    assert listing(raw, b'LIST "" %') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\Noselect \\HasChildren", "music"),
    }
    assert listing(raw, b'LIST "" *') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\HasNoChildren", "music.rock"),
    }
    raw.close()


def example_missing_parent_left_out_of_star(port: int) -> None:
    """Example 11's first command: with "*" matching music/rock itself, the missing parent
    music is left out."""
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


def check_list_status(port: int, bar: Listed) -> None:
    """RFC 5819 section 3's tree and command: LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
    over INBOX (17 messages, 16 unseen), foo (30, 29) and bar, which cannot be selected: a
    STATUS right after the LIST line of each selectable mailbox, none for bar."""
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
    assert listed == {entry("", "INBOX"), entry("", "foo"), bar}
    assert sum(line.startswith(b"* STATUS") for line in body) == 2, lines


def rfc5819_list_status(port: int) -> None:
    """RFC 5819 section 3 on mbox, where bar is a directory: a mailbox that exists and holds
    no messages, so (\\NoSelect) bar, the RFC's answer line for line."""
    check_list_status(port, entry("\\NoSelect", "bar"))


def list_status_leaves_out_a_missing_level(port: int) -> None:
    """RFC 5819 section 3's command where bar exists only in the name of bar/baz: bar is
    (\\NonExistent \\HasChildren), which implies \\NoSelect, and has no STATUS either."""
    check_list_status(port, entry("\\NonExistent \\HasChildren", "bar"))


def mbox_directory_is_a_noselect_mailbox(port: int) -> None:
    """The level example 11 misses is, on mbox, a directory: it exists, so extended LIST
    names it \\Noselect, never \\NonExistent, and lists it for "*" too."""
    raw = bare_tree(port)
    run(raw, b"CREATE music.rock", b"DELETE music")  # music keeps its child: it stays
    assert listing(raw, b'LIST (REMOTE) "" *') == {
        entry("", "INBOX"),
        entry("\\Noselect", "music"),
        entry("", "music.rock"),
    }
    assert listing(raw, b'LIST () "" % RETURN (CHILDREN)') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\Noselect \\HasChildren", "music"),
    }
    assert listing(raw, b'LIST "" *') == {
        entry("\\HasNoChildren", "INBOX"),
        entry("\\Noselect \\HasChildren", "music"),
        entry("\\HasNoChildren", "music.rock"),
    }
    raw.close()


test_example_7_multiple_patterns = in_thread(example_7_multiple_patterns)
test_example_8_children = in_thread(example_8_children)
test_example_8a_only_a_child_subscribed = in_thread(example_8a_only_a_child_subscribed)
test_example_8a1_parent_subscribed_too = in_thread(example_8a1_parent_subscribed_too)
test_example_8a2_parent_not_in_hierarchy = with_missing_levels(example_8a2_parent_not_in_hierarchy)
test_example_8b_nothing_subscribed = in_thread(example_8b_nothing_subscribed)
test_example_8c_siblings_subscribed = in_thread(example_8c_siblings_subscribed)
test_example_9_childinfo_whatever_the_pattern = with_missing_levels(
    example_9_childinfo_whatever_the_pattern
)
test_example_childinfo_without_children = in_thread(example_childinfo_without_children)
test_example_missing_hierarchy_elements = with_missing_levels(example_missing_hierarchy_elements)
test_example_missing_parent_left_out_of_star = with_missing_levels(
    example_missing_parent_left_out_of_star
)
test_rfc5819_list_status = on_mbox(rfc5819_list_status)
test_list_status_leaves_out_a_missing_level = with_missing_levels(
    list_status_leaves_out_a_missing_level
)
test_mbox_directory_is_a_noselect_mailbox = on_mbox(mbox_directory_is_a_noselect_mailbox)
