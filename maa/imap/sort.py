"""SORT and THREAD (RFC 5256, RFC 5957): order or thread the messages a search finds, from
the cached per-message keys of ``sortdata``."""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator

from maa import mail
from maa.imap import headercache, sortdata
from maa.imap.selected import SelectedView
from maa.proto.imap.sortcommands import SortCriterion
from maa.storage.interface import MessageInfo, MessageNotFound

# Each sort key as a function of (message info, its cached keys).
Key = Callable[[MessageInfo, sortdata.SortData], bytes | float | int]
_KEYS: dict[str, Key] = {
    "ARRIVAL": lambda info, data: info.internal_date,
    "CC": lambda info, data: data.cc,
    "DATE": lambda info, data: data.sent if data.sent is not None else info.internal_date,
    "FROM": lambda info, data: data.from_,
    "SIZE": lambda info, data: info.size,
    "SUBJECT": lambda info, data: data.base_subject,
    "TO": lambda info, data: data.to,
    "DISPLAYFROM": lambda info, data: data.display_from,
    "DISPLAYTO": lambda info, data: data.display_to,
}
# The keys answered from the index alone (no header needed).
_INDEX_KEYS = frozenset({"ARRIVAL", "SIZE"})


def keys_of(view: SelectedView, uid: int, memo: dict[int, sortdata.SortData]) -> sortdata.SortData:
    """The message's keys; empty ones when another session expunged it meanwhile (it is
    still in this session's view, so it is still sorted, as Dovecot does)."""
    found = memo.get(uid)
    if found is not None:
        return found
    try:
        return sortdata.sort_data(
            view.folder, uid, functools.partial(headercache.message_header, view.folder, uid), memo
        )
    except MessageNotFound:
        return _NO_DATA


def _keys_of_all(
    view: SelectedView, found: list[tuple[int, int]], memo: dict[int, sortdata.SortData]
) -> list[sortdata.SortData]:
    """``keys_of`` each message found, the cached header fields read straight."""
    get_cached, key = view.folder.get_cached, headercache.SEARCH_KEY
    datas = []
    for _, uid in found:
        data = memo.get(uid)
        if data is None:
            block = get_cached(uid, key)
            if block is None:
                data = keys_of(view, uid, memo)
            else:
                data = memo[uid] = sortdata.SortData(block)
        datas.append(data)
    return datas


def sort(
    view: SelectedView,
    found: list[tuple[int, int]],
    criteria: tuple[SortCriterion, ...],
    memo: dict[int, sortdata.SortData],
) -> list[tuple[int, int]]:
    """``found`` ((sequence number, UID), ascending) in the order ``criteria`` give; ties in
    mailbox order (RFC 5256 section 3)."""
    infos = [view.infos[uid] for _, uid in found]
    datas = (
        _keys_of_all(view, found, memo)
        if any(c.key not in _INDEX_KEYS for c in criteria)
        else [_NO_DATA] * len(found)
    )
    order = list(range(len(found)))
    # Stable sorts from the last criterion to the first: each REVERSE flips only its own
    # key (Python's reverse=True keeps equal items in order), and mailbox order breaks ties.
    for criterion in reversed(criteria):
        key = _KEYS[criterion.key]
        values = [key(info, data) for info, data in zip(infos, datas, strict=True)]
        order.sort(key=values.__getitem__, reverse=criterion.reverse)
    return [found[index] for index in order]


def thread(
    view: SelectedView,
    found: list[tuple[int, int]],
    algorithm: str,
    *,
    uid: bool,
    memo: dict[int, sortdata.SortData],
) -> bytes:
    """The THREAD response data (``(1 2)(3 (4)(5))``) for the messages found."""
    # The same messages, numbered the same, thread the same (their header fields and dates
    # never change), and a client sends THREAD again after changes that do not touch them,
    # such as flag changes; threading builds a node and a list per message, which also sets
    # off a full garbage collection every other time.
    last = view.last_thread
    if last is not None and last[0] == (algorithm, uid) and last[1] == found:
        return last[2]
    data = _thread(view, found, algorithm, uid=uid, memo=memo)
    view.last_thread = ((algorithm, uid), list(found), data)
    return data


def _thread(
    view: SelectedView,
    found: list[tuple[int, int]],
    algorithm: str,
    *,
    uid: bool,
    memo: dict[int, sortdata.SortData],
) -> bytes:
    infos = view.infos
    messages = [
        data.thread_message(msg_uid if uid else seq, infos[msg_uid].internal_date)
        for (seq, msg_uid), data in zip(found, _keys_of_all(view, found, memo), strict=True)
    ]
    with _collector_paused():
        if algorithm == "ORDEREDSUBJECT":
            roots = mail.thread_orderedsubject(messages)
        else:
            roots = mail.thread_references(messages)
        return mail.format_threads(roots)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector off while a thread tree is built and written out. The tree (a
    node and a list per message, linked both ways) is garbage right after; built with the
    collector running, it outlives the young collections and is moved to the oldest
    generation, so that every other THREAD over 10,000 messages set off a full collection
    of the server (35-90 ms). Built without, it is freed by the next young collection."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_NO_DATA = sortdata.SortData(b"")
