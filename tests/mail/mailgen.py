"""Broken-looking messages from a seeded generator: header lines with values that belong
elsewhere, boundary lines, blank lines, folding and 8-bit bytes, in random order. Used to
compare maa with Dovecot on input nobody wrote by hand."""

from __future__ import annotations

import random

_NAMES = (
    b"From: ", b"To: ", b"Cc: ", b"Subject: ", b"Date: ", b"Message-ID: ", b"In-Reply-To: ",
    b"Sender: ", b"Reply-To: ", b"Bcc: ", b"Content-Type: ", b"Content-Transfer-Encoding: ",
    b"Content-Disposition: ", b"Content-ID: ", b"Content-Description: ",
    b"Content-Language: ", b"Content-Location: ", b"Content-MD5: ", b"MIME-Version: ",
    b"X-Other: ", b"content-type:", b"Subject:",
)  # fmt: skip
_VALUES = (
    b"a@b.test", b"Name <n@x.test>", b'"Q, N" <q@x.test>', b"g: a@b.test, c@d.test;",
    b"undisclosed-recipients:;", b"<>", b"x (comment)", b"=?utf-8?q?J=C3=B6rg?= <j@x.test>",
    b"multipart/mixed; boundary=b", b"multipart/alternative; boundary=c",
    b"multipart/mixed; boundary=bc", b"text/plain; charset=utf-8", b"text/html",
    b"message/rfc822", b"multipart/digest; boundary=d", b"text", b"text/",
    b'application/pdf; name="a b"', b"base64", b"quoted-printable", b"8bit",
    b"attachment; filename=x", b"inline", b"en, de", b"1.0", b"Re: hello",
    b"  spaced   out  ", b"\xc3\xa4\xc3\xb6", b"", b"<id@x>", b"Mon, 1 Jan 2024 00:00:00 +0000",
    b"a\tb", b'x="y"; z', b'multipart/mixed; boundary="b"; x*0=a; x*1=b', b"@route:a@b",
    b"Bob <b@x", b'"unterminated', b"a@[1.2.3.4]", b"text/plain (c); charset=us-ascii",
)  # fmt: skip
_BODY = (
    b"--b", b"--b--", b"--c", b"--c--", b"--bc", b"--d", b"--d--", b"text", b"", b"  ",
    b"=E9", b"--", b"----", b"From: x@y", b"Content-Type: text/plain", b"\xc3\xa9",
    b"more text here", b"--b ", b"--c\t",
)  # fmt: skip


def generate(seed: int, count: int) -> list[bytes]:
    """``count`` messages in CRLF form, the same ones for the same seed."""
    rnd = random.Random(seed)

    def line() -> bytes:
        if rnd.random() < 0.45:
            value = rnd.choice(_NAMES) + rnd.choice(_VALUES)
            if rnd.random() < 0.15:
                value += b"\r\n " + rnd.choice(_VALUES)
            return value
        return rnd.choice(_BODY)

    messages = []
    for _ in range(count):
        lines = [line() for _ in range(rnd.randint(1, 40))]
        for _ in range(rnd.randint(0, 5)):
            lines.insert(rnd.randint(0, len(lines)), b"")
        messages.append(b"\r\n".join(lines) + (b"\r\n" if rnd.random() < 0.8 else b""))
    return messages


_SUBJECTS = (
    "a", "Re: a", "RE: A", "Fwd: a", "b", "Re: b", "[x] b", "c (fwd)", "[fwd: c]", "", "Re:",
    "d",
)  # fmt: skip


def generate_thread_messages(seed: int, count: int) -> list[bytes]:
    """``count`` small messages whose Message-IDs, References/In-Reply-To (with duplicates,
    dangling and looping ids), subjects and dates make THREAD work hard."""
    rnd = random.Random(seed)
    messages = []
    for i in range(1, count + 1):
        lines = [
            f"From: u{i}@x.test",
            f"Subject: {rnd.choice(_SUBJECTS)}",
            f"Date: Mon, {rnd.randint(1, 5):02d} Nov 2026 10:00:00 +0000",
        ]
        if rnd.random() < 0.8:
            number = rnd.randint(1, count) if rnd.random() < 0.1 else i
            lines.append(f"Message-ID: <m{number}@x>")
        if rnd.random() < 0.6:
            ids = " ".join(f"<m{rnd.randint(1, count + 5)}@x>" for _ in range(rnd.randint(1, 4)))
            lines.append(("References: " if rnd.random() < 0.7 else "In-Reply-To: ") + ids)
        messages.append(("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode())
    return messages
