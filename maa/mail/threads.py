"""THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 sections 3 and 4), sans I/O.

The caller gathers one :class:`ThreadMessage` per message of the search result (its
sequence number or UID, and the keys from :mod:`maa.mail.sortkeys`) and gets back the
thread trees, which :func:`format_threads` writes in the THREAD response syntax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from maa.mail.sortkeys import collation_key, subject_info


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message to thread. ``date`` is its sent date (the Date field, or the internal
    date when that is missing or invalid: RFC 5256 section 2.2); ``references`` as given
    by :func:`maa.mail.sortkeys.references`."""

    id: int  # sequence number or UID: what the response lists
    message_id: str | None
    references: tuple[str, ...]
    subject: str
    date: datetime
    # ``thread_subject(subject)`` when the caller kept it from an earlier THREAD
    subject_key: tuple[bytes, bool] | None = None

    def base(self) -> tuple[bytes, bool]:
        if self.subject_key is not None:
            return self.subject_key
        return thread_subject(self.subject)


def thread_subject(subject: str) -> tuple[bytes, bool]:
    """(collation key of the base subject, whether it is a reply or forward): what THREAD
    groups messages by."""
    base, reply = subject_info(subject)
    return collation_key(base), reply


@dataclass(eq=False, slots=True)
class ThreadNode:
    """A node of a thread tree; ``message`` None is a dummy joining its children."""

    message: ThreadMessage | None = None
    children: list[ThreadNode] = field(default_factory=list)
    parent: ThreadNode | None = field(default=None, repr=False)


def _first(node: ThreadNode) -> ThreadMessage | None:
    while node.message is None:
        if not node.children:
            return None
        node = node.children[0]
    return node.message


def _date_key(node: ThreadNode) -> tuple[datetime, int]:
    message = _first(node)
    assert message is not None, "dummies without children are pruned"
    return message.date, message.id


def _descendants_first(roots: Iterable[ThreadNode]) -> list[ThreadNode]:
    """Every node below and including ``roots``, each after all of its descendants.

    Iterative on purpose: a reply chain thousands of messages long (which anyone can mail
    to anyone) must not hit Python's recursion limit.
    """
    order: list[ThreadNode] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    order.reverse()
    return order


def _sort(roots: list[ThreadNode]) -> None:
    """Step 7: every sibling set by sent date (then id); a dummy by its first child's."""
    for node in _descendants_first(roots):
        if len(node.children) > 1:
            node.children.sort(key=_date_key)
    roots.sort(key=_date_key)


# --- ORDEREDSUBJECT ----------------------------------------------------------------------


def thread_orderedsubject(messages: Iterable[ThreadMessage]) -> list[ThreadNode]:
    """RFC 5256 ORDEREDSUBJECT: messages grouped by base subject; in each group the
    earliest is the parent of all the others; threads ordered by their first message."""
    groups: dict[bytes, list[ThreadMessage]] = {}
    for message in messages:
        groups.setdefault(message.base()[0], []).append(message)
    roots: list[ThreadNode] = []
    for members in groups.values():
        members.sort(key=lambda m: (m.date, m.id))
        root = ThreadNode(members[0])
        root.children = [ThreadNode(m, parent=root) for m in members[1:]]
        roots.append(root)
    roots.sort(key=_date_key)
    return roots


# --- REFERENCES --------------------------------------------------------------------------


def _is_ancestor(ancestor: ThreadNode, node: ThreadNode | None) -> bool:
    """Whether ``ancestor`` is ``node`` or above it, so that putting ``ancestor`` below
    ``node`` would make a loop. Callers check identity themselves and skip the walk for a
    childless ``ancestor``, which is above nothing: a long chain then threads in linear
    time."""
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def _link(parent: ThreadNode, child: ThreadNode) -> None:
    child.parent = parent
    parent.children.append(child)


def _unlink(child: ThreadNode) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
        child.parent = None


def _link_references(messages: Iterable[ThreadMessage]) -> list[ThreadNode]:
    """Step 1: one container per Message-ID, linked along each References chain."""
    table: dict[str, ThreadNode] = {}
    for message in messages:
        key = message.message_id
        if key is None or (key in table and table[key].message is not None):
            key = f"\x00{message.id}"  # missing or duplicate Message-ID: a unique one
        node = table.setdefault(key, ThreadNode())
        node.message = message
        previous: ThreadNode | None = None
        for reference in message.references:
            current = table.setdefault(reference, ThreadNode())
            if (
                previous is not None
                and current.parent is None
                and current is not previous
                and not (current.children and _is_ancestor(current, previous))
            ):
                _link(previous, current)
            previous = current
        _unlink(node)
        if (
            previous is not None
            and previous is not node
            and not (node.children and _is_ancestor(node, previous))
        ):
            _link(previous, node)
    return [node for node in table.values() if node.parent is None]


def _prune(roots: list[ThreadNode]) -> list[ThreadNode]:
    """Step 4: drop empty dummies; a dummy's children replace it, except that at the root
    only a single child is promoted."""
    for node in _descendants_first(roots):
        if not node.children:
            continue
        kept: list[ThreadNode] = []
        for child in node.children:
            if child.message is None:
                kept.extend(child.children)  # already pruned: no dummies left among them
            else:
                kept.append(child)
        node.children = kept
        for child in kept:
            child.parent = node
    out: list[ThreadNode] = []
    for node in roots:
        if node.message is None and len(node.children) <= 1:
            out.extend(node.children)
        else:
            out.append(node)
    for node in out:
        node.parent = None
    return out


def _merge_by_subject(roots: list[ThreadNode]) -> list[ThreadNode]:
    """Step 6: join root threads that share a base subject."""

    keys: dict[int, tuple[bytes, bool]] = {}  # by id(message): each worked out once

    def subject(node: ThreadNode) -> tuple[bytes, bool]:
        message = _first(node)
        assert message is not None
        key = keys.get(id(message))
        if key is None:
            key = keys[id(message)] = message.base()
        return key

    table: dict[bytes, ThreadNode] = {}
    for node in roots:
        key, reply = subject(node)
        if not key:
            continue
        held = table.get(key)
        # A dummy already in the table stays; a message there gives way to a dummy, or
        # (being a reply or forward) to a message that is not one (as Dovecot reads 6.B).
        if held is None or (
            held.message is not None and (node.message is None or (subject(held)[1] and not reply))
        ):
            table[key] = node
    gone: set[int] = set()  # roots merged into another thread
    replaced: dict[int, ThreadNode] = {}  # root -> the new dummy standing in its place
    for node in roots:
        if id(node) in gone or node.parent is not None:  # merged, or put under a new dummy
            continue
        key, reply = subject(node)
        held = table.get(key) if key else None
        if held is None or held is node:
            continue
        gone.add(id(node))
        if held.message is None and node.message is None:
            for child in node.children:
                _link(held, child)
            node.children = []
        elif held.message is None or (reply and not subject(held)[1]):
            _link(held, node)
        else:
            dummy = ThreadNode()
            replaced[id(held)] = dummy
            _link(dummy, held)
            _link(dummy, node)
            table[key] = dummy
    return [replaced.get(id(node), node) for node in roots if id(node) not in gone]


def thread_references(messages: Sequence[ThreadMessage]) -> list[ThreadNode]:
    """RFC 5256 REFERENCES threading (steps 1 to 7) of the given messages."""
    roots = _prune(_link_references(messages))
    _sort(roots)
    roots = _merge_by_subject(roots)
    _sort(roots)
    return roots


# --- response syntax ---------------------------------------------------------------------


def _write(root: ThreadNode, out: bytearray) -> None:
    """One thread without its outer parentheses: ``1 2 (3)(4 5)``. Iterative, like
    :func:`_descendants_first`."""
    stack: list[ThreadNode | bytes] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out += item
            continue
        children = item.children
        if item.message is not None:
            out += b"%d" % item.message.id
            if not children:
                continue
            out += b" "
            if len(children) == 1:
                stack.append(children[0])
                continue
        for child in reversed(children):
            stack += (b")", child, b"(")


def format_threads(roots: Iterable[ThreadNode]) -> bytes:
    """The THREAD response data: ``(1 2 3)(4 (5)(6))((7)(8))`` (RFC 5256 section 4)."""
    out = bytearray()
    for root in roots:
        out += b"("
        _write(root, out)
        out += b")"
    return bytes(out)
