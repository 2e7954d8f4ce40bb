"""LIST-EXTENDED selection: the RFC 5258 section 5 examples and the options matrix, on the
pure listing function (the wire form is tested in test_sync_extensions)."""

from __future__ import annotations

import pytest

from maa.imap.listext import list_entries, pattern_regex
from maa.proto.imap.cursor import Cursor
from maa.proto.imap.listoptions import parse_list
from maa.storage.interface import FolderInfo

# RFC 5258 section 5's mailboxes, with "." for "/".
FOLDERS = [
    FolderInfo("INBOX"),
    FolderInfo("Fruit"),
    FolderInfo("Fruit.Apple"),
    FolderInfo("Fruit.Banana"),
    FolderInfo("Tofu"),
    FolderInfo("Vegetable"),
    FolderInfo("Vegetable.Broccoli"),
    FolderInfo("Vegetable.Corn"),
    FolderInfo("Sent", special_use="\\Sent"),
]
SUBSCRIBED = ["Fruit.Banana", "Fruit.Peach", "Vegetable", "Vegetable.Broccoli"]


def listing(command: bytes) -> list[tuple[str, str, bool]]:
    args = parse_list(Cursor((command,)))
    patterns = [p.decode() for p in args.patterns]
    entries = list_entries(args, args.reference.decode(), patterns, FOLDERS, SUBSCRIBED)
    return [(e.name, " ".join(e.attributes), e.childinfo) for e in entries]


def test_example_1_basic_list() -> None:
    assert listing(b' "" %') == [
        ("INBOX", "\\HasNoChildren", False),
        ("Fruit", "\\HasChildren", False),
        ("Sent", "\\HasNoChildren \\Sent", False),
        ("Tofu", "\\HasNoChildren", False),
        ("Vegetable", "\\HasChildren", False),
    ]


def test_example_2_return_subscribed() -> None:
    got = listing(b' "" % RETURN (SUBSCRIBED)')
    assert ("Vegetable", "\\Subscribed", False) in got
    assert ("Fruit", "", False) in got and ("Tofu", "", False) in got


def test_example_3_subscribed_star() -> None:
    assert listing(b' (SUBSCRIBED) "" "*"') == [
        ("Fruit.Banana", "\\Subscribed", False),
        ("Fruit.Peach", "\\NonExistent \\Subscribed", False),
        ("Vegetable", "\\Subscribed", False),
        ("Vegetable.Broccoli", "\\Subscribed", False),
    ]


def test_example_4_children() -> None:
    got = listing(b' "" % RETURN (CHILDREN)')
    assert ("Fruit", "\\HasChildren", False) in got and ("Tofu", "\\HasNoChildren", False) in got


def test_example_5_recursivematch() -> None:
    assert listing(b' (SUBSCRIBED RECURSIVEMATCH) "" %') == [
        ("Fruit", "", True),
        ("Vegetable", "\\Subscribed", True),
    ]


def test_example_6_recursivematch_with_children() -> None:
    assert listing(b' (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)') == [
        ("Fruit", "\\HasChildren", True),
        ("Vegetable", "\\Subscribed \\HasChildren", True),
    ]


def test_recursivematch_with_star_lists_no_extra_parents() -> None:
    """With "*" every subscribed name is listed itself: unsubscribed parents are not added,
    subscribed ones still tell of subscribed children (what Dovecot answers)."""
    assert listing(b' (SUBSCRIBED RECURSIVEMATCH) "" "*"') == [
        ("Fruit.Banana", "\\Subscribed", False),
        ("Fruit.Peach", "\\NonExistent \\Subscribed", False),
        ("Vegetable", "\\Subscribed", True),
        ("Vegetable.Broccoli", "\\Subscribed", False),
    ]


def test_subscribed_without_recursivematch_leaves_parents_out() -> None:
    assert listing(b' (SUBSCRIBED) "" %') == [("Vegetable", "\\Subscribed", False)]


def test_multiple_patterns() -> None:
    names = [name for name, _, _ in listing(b' "" ("INBOX" "Tofu" "Fruit.*")')]
    assert names == ["INBOX", "Fruit.Apple", "Fruit.Banana", "Tofu"]


def test_special_use_selection_and_return() -> None:
    assert listing(b' (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)') == [("Sent", "\\Sent", False)]


def test_thunderbird_subscribed_special_use() -> None:
    got = listing(b' (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)')
    assert [name for name, _, _ in got] == sorted(SUBSCRIBED)


@pytest.mark.parametrize("selection", ["", "SUBSCRIBED", "SPECIAL-USE", "SUBSCRIBED REMOTE"])
@pytest.mark.parametrize("returns", ["", "SUBSCRIBED", "CHILDREN", "SPECIAL-USE"])
def test_options_matrix(selection: str, returns: str) -> None:
    """Every combination: listed names satisfy the selection, attributes follow the
    return options, \\NonExistent only on a subscribed name that does not exist."""
    command = f' ({selection}) "" "*" RETURN ({returns})'.encode()
    got = listing(command)
    existing = {f.name for f in FOLDERS}
    for name, attributes, childinfo in got:
        attrs = attributes.split()
        assert not childinfo
        if "SUBSCRIBED" in selection:
            assert name in SUBSCRIBED
        if "SPECIAL-USE" in selection:
            assert "\\Sent" in attrs
        assert ("\\NonExistent" in attrs) == (name not in existing)
        subscribed_shown = "SUBSCRIBED" in selection or returns == "SUBSCRIBED"
        assert ("\\Subscribed" in attrs) == (subscribed_shown and name in SUBSCRIBED)
        children = {"\\HasChildren", "\\HasNoChildren"} & set(attrs)
        if name in existing and returns == "CHILDREN":
            assert len(children) == 1
        else:
            assert not children
    expected = set(SUBSCRIBED) if "SUBSCRIBED" in selection else existing
    if "SPECIAL-USE" in selection:
        expected = {"Sent"} & expected
    assert {name for name, _, _ in got} == expected


def test_pattern_percent_stops_at_separator() -> None:
    assert pattern_regex("", "Fruit.%").match("Fruit.Apple")
    assert not pattern_regex("", "Fruit.%").match("Fruit.Apple.Green")
    assert pattern_regex("", "inbox").match("INBOX")
