"""A fixed corpus for SORT and THREAD, and the commands whose answers are compared with
Debian's Dovecot (``fixtures/sort_dovecot.json``, written by
``tests/integration/test_imap_sort_dovecot.py --write``).

Each message is appended with its internal date, in order, so UIDs and ARRIVAL are the same
on every server. The corpus covers RFC 5256's corners: reply and forward marks, [blob]
prefixes, encoded words, missing and invalid dates, time zones, display names, missing
Message-IDs, References chains with absent parents, In-Reply-To only, a duplicate
Message-ID, and a reference loop.
"""

from __future__ import annotations

import datetime

BASE = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)


def _msg(
    subject: str | None,
    frm: str | None,
    to: str | None,
    date: str | None,
    msgid: str | None,
    refs: str | None = None,
    irt: str | None = None,
    cc: str | None = None,
) -> bytes:
    lines = []
    if frm is not None:
        lines.append(f"From: {frm}")
    if to is not None:
        lines.append(f"To: {to}")
    if cc is not None:
        lines.append(f"Cc: {cc}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    if date is not None:
        lines.append(f"Date: {date}")
    if msgid is not None:
        lines.append(f"Message-ID: {msgid}")
    if refs is not None:
        lines.append(f"References: {refs}")
    if irt is not None:
        lines.append(f"In-Reply-To: {irt}")
    body = "body of " + (subject or "nothing") + "\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


# (minutes after BASE for the internal date, message)
CORPUS: list[tuple[int, bytes]] = [
    (0, _msg("Project plan", "Zoe Zimmer <zoe@example.test>", "team@example.test",
             "Mon, 04 Mar 2024 09:00:00 +0000", "<a1@x>", cc="bob@example.test")),
    (5, _msg("Re: Project plan", "Adam <adam@example.test>", "Zoe <zoe@example.test>",
             "Mon, 04 Mar 2024 10:00:00 +0000", "<a2@x>", refs="<a1@x>")),
    (9, _msg("RE: [team] Project plan", "bob@example.test", "zoe@example.test",
             "Mon, 04 Mar 2024 09:30:00 -0200", "<a3@x>", refs="<a1@x> <a2@x>")),
    (2, _msg("Lunch?", "\"Carol, C.\" <carol@example.test>", "adam@example.test",
             "Sun, 03 Mar 2024 23:59:00 +0100", "<b1@x>")),
    (30, _msg("Fwd: Lunch?", "dave@example.test", "Erin <erin@example.test>",
              "Tue, 05 Mar 2024 08:00:00 +0000", "<b2@x>")),
    (31, _msg("Lunch? (fwd)", "erin@example.test", "dave@example.test",
              "Tue, 05 Mar 2024 08:05:00 +0000", "<b3@x>")),
    (12, _msg("=?utf-8?q?=C3=84rger?= mit dem Drucker", "=?utf-8?q?J=C3=B6rg?= <jorg@example.test>",
              "it@example.test", "Sat, 02 Mar 2024 12:00:00 +0000", "<c1@x>")),
    (13, _msg("Re: =?utf-8?q?=C3=84rger?= mit dem Drucker", "it@example.test",
              "jorg@example.test", "Sat, 02 Mar 2024 13:00:00 +0000", "<c2@x>", irt="<c1@x>")),
    (14, _msg("[PATCH] fix the build", "mallory@example.test", "dev@example.test",
              None, "<d1@x>")),
    (15, _msg("Re: [PATCH] fix the build", "trent@example.test", "dev@example.test",
              "not a date at all", "<d2@x>", refs="<d1@x>")),
    (16, _msg("Re: [PATCH] fix the build", "peggy@example.test", "dev@example.test",
              "Fri, 01 Mar 2024 12:16:00 +0000", "<d3@x>", refs="<d1@x> <gone@x>")),
    (17, _msg(None, "anon@example.test", None, "Fri, 01 Mar 2024 12:17:00 +0000", None)),
    (18, _msg("", "Empty Subject <empty@example.test>", "x@example.test",
              "Fri, 01 Mar 2024 12:18:00 +0000", "<e1@x>")),
    (19, _msg("Orphan reply", "olivia@example.test", "x@example.test",
              "Fri, 01 Mar 2024 12:19:00 +0000", "<f2@x>", refs="<f0@x> <f1@x>")),
    (20, _msg("Re: Orphan reply", "victor@example.test", "x@example.test",
              "Fri, 01 Mar 2024 12:20:00 +0000", "<f3@x>", refs="<f0@x> <f1@x>")),
    (21, _msg("Loop one", "walter@example.test", "x@example.test",
              "Fri, 01 Mar 2024 12:21:00 +0000", "<g1@x>", refs="<g2@x>")),
    (22, _msg("Loop two", "walter@example.test", "x@example.test",
              "Fri, 01 Mar 2024 12:22:00 +0000", "<g2@x>", refs="<g1@x>")),
    (23, _msg("Duplicate id", "sybil@example.test", "x@example.test",
              "Fri, 01 Mar 2024 12:23:00 +0000", "<dup@x>")),
    (24, _msg("Duplicate id again", "sybil@example.test", "x@example.test",
              "Fri, 01 Mar 2024 12:24:00 +0000", "<dup@x>")),
    (25, _msg("[fwd: Project plan]", "frank@example.test", "Group: a@example.test, b@example.test;",
              "Fri, 01 Mar 2024 12:25:00 +0000", "<h1@x>")),
    (26, _msg("re: re: Lunch?", "ADAM@example.test", "carol@example.test",
              "Tue, 05 Mar 2024 08:00:00 +0000", "<b4@x>", refs="<b1@x>")),
    (27, _msg("Project plan", "zoe@example.test", "team@example.test",
              "Mon, 04 Mar 2024 09:00:00 +0000", "<a9@x>", cc="Amy <amy@example.test>")),
    (28, _msg("size test " + "x" * 300, "big@example.test", "x@example.test",
              "Fri, 01 Mar 2024 12:28:00 +0000", "<i1@x>")),
    (29, _msg("Re: Re: Project plan", "zed@example.test", "adam@example.test",
              "Mon, 04 Mar 2024 11:00:00 +0000", "<a4@x>", refs="<a1@x> <a3@x>")),
]  # fmt: skip


def internal_date(minutes: int) -> str:
    """APPEND's date-time for BASE + minutes."""
    when = BASE + datetime.timedelta(minutes=minutes)
    return when.strftime("%d-%b-%Y %H:%M:%S +0000")


SORT_CRITERIA = [
    "ARRIVAL", "REVERSE ARRIVAL", "DATE", "REVERSE DATE", "SIZE", "REVERSE SIZE",
    "SUBJECT", "REVERSE SUBJECT", "FROM", "REVERSE FROM", "TO", "CC", "REVERSE CC",
    "DISPLAYFROM", "DISPLAYTO", "SUBJECT DATE", "REVERSE SUBJECT REVERSE DATE",
    "FROM SUBJECT", "CC ARRIVAL",
]  # fmt: skip

COMMANDS: list[str] = (
    [f"SORT ({c}) UTF-8 ALL" for c in SORT_CRITERIA]
    + ["UID SORT (REVERSE DATE) UTF-8 ALL", "SORT (SUBJECT) UTF-8 SENTSINCE 2-Mar-2024"]
    + [f"{u}THREAD {a} UTF-8 ALL" for a in ("ORDEREDSUBJECT", "REFERENCES") for u in ("", "UID ")]
    + ["THREAD REFERENCES UTF-8 NOT FROM walter", "THREAD ORDEREDSUBJECT UTF-8 SUBJECT lunch"]
)
