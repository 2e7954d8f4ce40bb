"""FETCH of index items over many messages fills its lines by columns; checked against the
line by line path it stands in for."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maa.imap import fetch
from maa.storage.interface import MessageInfo

FLAGS = st.frozensets(st.sampled_from(["\\Seen", "\\Flagged", "\\Deleted", "$Label1"]))
ITEMS = st.lists(
    st.sampled_from(["UID", "FLAGS", "RFC822.SIZE", "MODSEQ", "INTERNALDATE"]),
    min_size=1,
    max_size=5,
    unique=True,
)


def view_of(flags: list[frozenset[str]], recent: set[int]) -> Any:
    infos = {
        uid: MessageInfo(uid, f, 100 + uid, 1_700_000_000.0 + uid, 7 + uid)
        for uid, f in enumerate(flags, 1)
    }
    return SimpleNamespace(infos=infos, expunged=set(), recent=recent, untold=set(infos))


@given(st.lists(FLAGS, min_size=1, max_size=30), ITEMS, st.data())
def test_columns_give_the_lines_one_by_one_gives(
    flags: list[frozenset[str]], items: list[str], data: st.DataObject
) -> None:
    uids = list(range(1, len(flags) + 1))
    recent = set(data.draw(st.lists(st.sampled_from(uids))))
    chosen = sorted(set(data.draw(st.lists(st.sampled_from(uids), min_size=1))))
    pairs = [(uid, uid) for uid in chosen]
    quick_view, slow_view = view_of(flags, recent), view_of(flags, recent)
    quick = fetch._index_lines(quick_view, pairs, tuple(items), by_uid=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fetch, "_column_lines", lambda *args: None)
        slow = fetch._index_lines(slow_view, pairs, tuple(items), by_uid=True)
    assert quick == slow
    assert quick_view.untold == slow_view.untold
