"""Tricky messages shared by the tests in this folder (CRLF form, as storage returns them).

Each entry is a name and the raw bytes; ``dovecot_expected.json`` holds what Dovecot 2.3
answers for each (see ``regen_dovecot_expected.py``).
"""

from __future__ import annotations


def crlf(text: str | bytes) -> bytes:
    """Lines joined with CRLF; a str is encoded as UTF-8 (for 8-bit headers and bodies)."""
    data = text.encode() if isinstance(text, str) else text
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


SIMPLE = crlf(
    "From: Alice <alice@example.test>\n"
    "To: bob@example.test\n"
    "Subject: hi\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0100\n"
    "Message-ID: <simple.1@example.test>\n"
    "\n"
    "body\n"
)

MIXED = crlf(
    'From: "Doe, John" <john@example.test>\n'
    "To: alice@example.test, Bob Smith <bob@example.test>\n"
    'Cc: team: carol@example.test, "Dave D." <dave@example.test>;\n'
    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= with\n"
    "\tattachments\n"
    "Date: Tue, 24 Nov 2026 08:15:00 -0500 (EST)\n"
    "Message-ID: <mixed.2@example.test>\n"
    "In-Reply-To: <simple.1@example.test>\n"
    "References: <root.0@example.test> <simple.1@example.test>\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="outer"\n'
    "\n"
    "This is the preamble.\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    'Content-Type: text/plain; charset="utf-8"; format=flowed\n'
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Gr=C3=BC=C3=9Fe aus K=C3=B6ln,=20\n"
    "soft line=\n"
    "break\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "<p>Grüße aus <b>Köln</b></p>\n"
    "--inner--\n"
    "--outer\n"
    'Content-Type: application/pdf; name="report.pdf"\n'
    "Content-Transfer-Encoding: base64\n"
    'Content-Disposition: attachment; filename="report.pdf"; size=12\n'
    "Content-ID: <part3@example.test>\n"
    "Content-Description: The report\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    "Content-Language: en, de\n"
    "Content-Location: http://example.test/report.pdf\n"
    "\n"
    "JVBERi0xLjQKJcOkw7zDtsOfCg==\n"
    "--outer--\n"
    "epilogue\n"
)

RFC822_ATTACHMENT = crlf(
    "From: carol@example.test\n"
    "To: alice@example.test\n"
    "Subject: Fwd: the original\n"
    'Content-Type: multipart/mixed; boundary="b1"\n'
    "\n"
    "--b1\n"
    "Content-Type: text/plain\n"
    "\n"
    "See attached.\n"
    "--b1\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: inline\n"
    "\n"
    "From: Dave <dave@example.test>\n"
    "To: carol@example.test\n"
    "Subject: the original\n"
    "Message-ID: <orig@example.test>\n"
    'Content-Type: multipart/alternative; boundary="b2"\n'
    "\n"
    "--b2\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "plain version\n"
    "two lines\n"
    "--b2\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html version</p>\n"
    "--b2--\n"
    "\n"
    "--b1--\n"
)

EIGHT_BIT_HEADERS = crlf(
    "From: Jörg Müller <joerg@example.test>\n"
    'To: "Ünal" <uenal@example.test>\n'
    'Subject: Grüße "quoted" and \\backslash\\\n'
    "Date: Wed, 25 Nov 2026 12:00:00 +0000\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Grüße\n"
)

GROUPS = crlf(
    'From: "Many \\"quotes\\" \\\\ here" <q@example.test>\n'
    "Sender: (just a comment) sender@example.test\n"
    "Reply-To: reply@example.test (Reply Person)\n"
    "To: undisclosed-recipients:;\n"
    "Cc: friends: a@example.test, B <b@example.test>;, outside@example.test\n"
    "Bcc: <@relay1.test,@relay2.test:routed@example.test>, carol\n"
    "Subject: groups\n"
    "\n"
    "x\n"
)

NO_CONTENT_TYPE = crlf(
    "From: a@example.test\n"
    "Subject: no content type\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "just text\n"
    "second line\n"
)

BROKEN_BOUNDARY = crlf(
    "From: a@example.test\n"
    "Subject: broken boundary\n"
    'Content-Type: multipart/mixed; boundary="abc"\n'
    "\n"
    "--abc\n"
    'Content-Type: multipart/alternative; boundary="abcd"\n'
    "\n"
    "--abcd\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner part, never closed\n"
    "--abc\n"
    "Content-Type: text/plain\n"
    "\n"
    "second outer part, no close delimiter either\n"
)

BOUNDARY_NEVER_SEEN = crlf(
    "From: a@example.test\n"
    "Subject: boundary never seen\n"
    'Content-Type: multipart/mixed; boundary="zzz"\n'
    "\n"
    "there is no boundary line here\n"
)

MULTIPART_NO_BOUNDARY = crlf(
    "From: a@example.test\n"
    "Subject: multipart without boundary\n"
    "Content-Type: multipart/mixed\n"
    "\n"
    "text\n"
)

NO_TRAILING_CRLF = b"From: a@example.test\r\nSubject: no trailing newline\r\n\r\nlast line"

EMPTY_BODY = crlf("From: a@example.test\nSubject: empty body\n\n")

HEADER_ONLY = b"From: a@example.test\r\nSubject: no blank line\r\n"

DIGEST = crlf(
    "From: list@example.test\n"
    "Subject: digest\n"
    'Content-Type: multipart/digest; boundary="d"\n'
    "\n"
    "--d\n"
    "\n"
    "From: one@example.test\n"
    "Subject: first\n"
    "\n"
    "one\n"
    "--d\n"
    "Content-Type: text/plain\n"
    "\n"
    "not a message\n"
    "--d--\n"
)

ODD_HEADERS = crlf(
    "From: a@example.test\n"
    "Subject: first subject   \n"
    "Subject: second subject\n"
    "To: <>\n"
    "Cc:\n"
    "X-No-Colon-Line\n"
    "Content-Type: TEXT/Plain; CHARSET=ISO-8859-1; Format=Flowed\n"
    "Content-Transfer-Encoding: QUOTED-PRINTABLE\n"
    "\n"
    "caf=E9\n"
)

RFC2231 = crlf(
    "From: a@example.test\n"
    "Subject: rfc2231\n"
    'Content-Type: multipart/mixed; boundary="x"\n'
    "\n"
    "--x\n"
    "Content-Type: application/octet-stream;\n"
    " name*0*=utf-8''%E2%82%AC%20rates;\n"
    " name*1*=%20for%20;\n"
    " name*2=2026.txt\n"
    "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\n"
    "\n"
    "data\n"
    "--x--\n"
)

ENCODED_RFC822 = crlf(
    "From: a@example.test\n"
    "Subject: base64 message/rfc822\n"
    "Content-Type: message/rfc822\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "RnJvbTogYkBleGFtcGxlLnRlc3QNCg0KaGkNCg==\n"
)

TOP_RFC822 = crlf(
    "From: a@example.test\n"
    "Subject: whole message is message/rfc822\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: inner@example.test\n"
    "Subject: inner\n"
    "\n"
    "inner body\n"
)

EMPTY_MULTIPART = crlf(
    "From: a@example.test\n"
    "Subject: no parts\n"
    'Content-Type: multipart/mixed; boundary="e"\n'
    "\n"
    "preamble only\n"
    "--e--\n"
)

PART_WITHOUT_HEADER = crlf(
    "From: a@example.test\n"
    "Subject: part header cut by boundary\n"
    'Content-Type: multipart/mixed; boundary="p"\n'
    "\n"
    "--p\n"
    "Content-Type: text/plain\n"
    "--p\n"
    "\n"
    "no header at all\n"
    "--p--\n"
)

ADDRESS_ODDITIES = crlf(
    "From: John Q. Public <jqp@example.test>\n"
    'Sender: "john  doe"@example.test\n'
    "Reply-To: a@example.test (first comment), Bob (nick) <b@example.test>, <c@example.test>\n"
    "To: empty-group: ;, missing@, @nodomain.test, Name <@route.test:r@example.test>\n"
    'Cc: lit@[192.0.2.1], =?utf-8?q?J=C3=B6rg?= <j@example.test>, "Unterminated <u@x>\n'
    "Bcc: Angle <a@example.test\n"
    "Subject:\n"
    "Date:   Mon, 23 Nov 2026 10:00:00 +0100 (CET)  \n"
    "In-Reply-To: <a@example.test> (comment)\n"
    "\n"
    "x\n"
)

CONTENT_ODDITIES = crlf(
    "From: a@example.test\n"
    "Subject: content oddities\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="a b:c"\n'
    "\n"
    "--a b:c\n"
    'Content-Type: text/plain (a comment); charset=utf-8; charset=latin1; novalue; x="q\\"v"\n'
    "Content-Disposition: inline\n"
    "Content-Language: en\n"
    "Content-Location:\n"
    " http://example.test/folded\n"
    "Content-ID: <with space @example.test>\n"
    "Content-Description: Beschreibung Grüße\n"
    "\n"
    "first\n"
    "--a b:c   \n"
    "Content-Type: text\n"
    "\n"
    "no subtype\n"
    "--a b:c\n"
    "Content-Type:\n"
    "Content-Transfer-Encoding: weird encoding\n"
    "\n"
    "empty content type\n"
    "--a b:c\n"
    "Content-Type: image/png; name=x.png\n"
    "Content-Transfer-Encoding: BASE64\n"
    "Content-Disposition: attachment; filename=x.png;\n"
    '  creation-date="Mon, 23 Nov 2026 10:00:00 +0100"\n'
    "\n"
    "iVBORw0KGgo=\n"
    "--a b:c--\n"
)

DIGEST_OF_ALTERNATIVES = crlf(
    "From: list@example.test\n"
    "Subject: digest of alternatives\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=outer\n"
    "\n"
    "--outer\n"
    "Content-Type: multipart/digest; boundary=dig\n"
    "\n"
    "--dig\n"
    "\n"
    "From: one@example.test\n"
    "Subject: one\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=alt\n"
    "\n"
    "--alt\n"
    "\n"
    "plain\n"
    "--alt\n"
    "Content-Type: text/html\n"
    "\n"
    "<b>html</b>\n"
    "--alt--\n"
    "--dig\n"
    "\n"
    "From: two@example.test\n"
    "Subject: two, not MIME\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "second\n"
    "--dig--\n"
    "--outer--\n"
)

LONG_FOLDED = crlf(
    "From: a@example.test\n"
    "To: " + ",\n ".join(f"User {i} <user{i}@example.test>" for i in range(12)) + "\n"
    "Subject: a subject folded\n"
    "  over\n"
    "\tthree lines\n"
    "Message-ID:\n"
    " <folded.id@example.test>\n"
    "Content-Type: text/plain;\n"
    '\tcharset="utf-8";\n'
    "\tformat=flowed;\n"
    "\tdelsp=yes\n"
    "MIME-Version: 1.0\n"
    "\n"
    "body\n"
)

REPEATED_ADDRESS_FIELDS = crlf(
    "From: first@example.test\n"
    "To: a@example.test\n"
    "Cc: one@example.test\n"
    "CC: two@example.test, three@example.test\n"
    "cc: four@example.test\n"
    "Subject: repeated cc\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text; charset=us-ascii\n"
    "\n"
    "type without subtype, then parameters\n"
)

SAME_BOUNDARY_NESTED = crlf(
    "From: a@example.test\n"
    "Subject: one boundary for two multiparts\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="same"\n'
    "\n"
    "--same\n"
    'Content-Type: multipart/alternative; boundary="same"\n'
    "\n"
    "\n"
    "--same\n"
    "Content-Type: text/plain\n"
    "\n"
    "plain\n"
    "--same\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html</p>\n"
    "--same--\n"
    "--same\n"
    "Content-Type: application/octet-stream\n"
    "\n"
    "data\n"
    "--same--\n"
)

DASHED_BOUNDARY = crlf(
    "From: a@example.test\n"
    "Subject: a boundary ending in dashes\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/digest; boundary="__--__--"\n'
    "\n"
    "--__--__--\n"
    "\n"
    "From: one@example.test\n"
    "Subject: first\n"
    "\n"
    "one\n"
    "\n"
    "--__--__--\n"
    "\n"
    "From: two@example.test\n"
    "Subject: second\n"
    "\n"
    "two\n"
    "\n"
    "--__--__----\n"
)

EXTENDED_PARAMETERS = crlf(
    "From: a@example.test\n"
    "Subject: extended parameters\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/signed; micalg*=us-ascii''pgp-sha256;\n"
    "\tprotocol*=us-ascii''application%2Fpgp-signature; plain=1;\n"
    "\tboundary*=\"us-ascii''sig\"\n"
    "\n"
    "--sig\n"
    "\n"
    "signed text\n"
    "--sig--\n"
)

GRANDPARENT_BOUNDARY_CUTS_HEADER = crlf(
    "From: a@example.test\n"
    "Subject: an inner part cut by the outer boundary\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="outer"\n'
    "\n"
    "--outer\n"
    'Content-Type: multipart/mixed; boundary="inner"\n'
    "\n"
    "--inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "text\n"
    "--inner\n"
    "not a header line\n"
    "--outer\n"
    "Content-Type: text/plain\n"
    "no-colon line\n"
    "\n"
    "--outer--\n"
)

PARAMETER_RECOVERY = crlf(
    "From: a@example.test\n"
    "Subject: parameter recovery\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=p\n"
    "\n"
    "--p\n"
    "Content-Type: application/octet-stream; title*0=a; title*2=c; name*0*=utf-8''%41;\n"
    " name*1=100%; junk here; after=junk\n"
    "Content-Disposition: attachment junk; filename=x.bin\n"
    "Content-Language: en-GB junk, de\n"
    "Content-Transfer-Encoding: two words\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "QUJD\n"
    "--p\n"
    'Content-Type: text/plain; charset="unterminated\n'
    "Content-Disposition: inline\n"
    "Content-Disposition: attachment; filename=second\n"
    "\n"
    "text\n"
    "--p--\n"
)

CORPUS: dict[str, bytes] = {
    "simple": SIMPLE,
    "mixed": MIXED,
    "rfc822_attachment": RFC822_ATTACHMENT,
    "eight_bit_headers": EIGHT_BIT_HEADERS,
    "groups": GROUPS,
    "no_content_type": NO_CONTENT_TYPE,
    "broken_boundary": BROKEN_BOUNDARY,
    "boundary_never_seen": BOUNDARY_NEVER_SEEN,
    "multipart_no_boundary": MULTIPART_NO_BOUNDARY,
    "no_trailing_crlf": NO_TRAILING_CRLF,
    "empty_body": EMPTY_BODY,
    "header_only": HEADER_ONLY,
    "digest": DIGEST,
    "odd_headers": ODD_HEADERS,
    "rfc2231": RFC2231,
    "encoded_rfc822": ENCODED_RFC822,
    "top_rfc822": TOP_RFC822,
    "empty_multipart": EMPTY_MULTIPART,
    "part_without_header": PART_WITHOUT_HEADER,
    "address_oddities": ADDRESS_ODDITIES,
    "content_oddities": CONTENT_ODDITIES,
    "digest_of_alternatives": DIGEST_OF_ALTERNATIVES,
    "long_folded": LONG_FOLDED,
    "repeated_address_fields": REPEATED_ADDRESS_FIELDS,
    "same_boundary_nested": SAME_BOUNDARY_NESTED,
    "dashed_boundary": DASHED_BOUNDARY,
    "extended_parameters": EXTENDED_PARAMETERS,
    "grandparent_boundary_cuts_header": GRANDPARENT_BOUNDARY_CUTS_HEADER,
    "parameter_recovery": PARAMETER_RECOVERY,
}

# Sections fetched from Dovecot for every corpus message (IMAP section syntax).
SECTIONS = (
    "",
    "HEADER",
    "TEXT",
    "1",
    "1.MIME",
    "2",
    "2.MIME",
    "1.1",
    "1.2",
    "2.1",
    "2.2",
    "2.HEADER",
    "2.TEXT",
    "2.1.MIME",
    "3",
    "9",
    "HEADER.FIELDS (SUBJECT from)",
    "HEADER.FIELDS.NOT (Subject Content-Type)",
    "HEADER.FIELDS (X-Absent)",
    "2.HEADER.FIELDS (Subject)",
    "1.1.MIME",
    "1.1.1",
    "1.2.HEADER",
    "1.2.TEXT",
    "4.MIME",
)


def _thread_message(number: int, subject: str, refs: str = "", msgid: str | None = None) -> bytes:
    lines = [
        f"From: user{number}@example.test",
        f"Subject: {subject}",
        f"Date: Mon, {number:02d} Nov 2026 10:00:00 +0000",
    ]
    if msgid != "":
        lines.append(f"Message-ID: {msgid or f'<t{number}@example.test>'}")
    if refs:
        lines.append(f"References: {refs}")
    return crlf("\n".join(lines) + "\n\nbody\n")


# Messages for THREAD: chains, a lost parent, subject-only replies, duplicates, a loop.
THREAD_CORPUS: list[bytes] = [
    _thread_message(1, "Meeting"),
    _thread_message(2, "Re: Meeting", "<t1@example.test>"),
    _thread_message(3, "Re: Meeting", "<t1@example.test> <t2@example.test>"),
    _thread_message(4, "Re: Meeting", "<t1@example.test>"),
    _thread_message(5, "Re: Lost parent", "<gone@example.test>"),
    _thread_message(6, "Re: Lost parent", "<gone@example.test>"),
    _thread_message(7, "Re: single lost", "<gone2@example.test> <gone3@example.test>"),
    _thread_message(8, "Holiday"),
    _thread_message(9, "Re: holiday"),
    _thread_message(10, "[list] Fwd: Holiday (fwd)"),
    _thread_message(11, "Plans"),
    _thread_message(12, "plans"),
    _thread_message(13, "Loop A", "<t14@example.test>"),
    _thread_message(14, "Loop B", "<t13@example.test>"),
    _thread_message(15, "Duplicate", msgid="<t1@example.test>"),
    _thread_message(16, "No id", msgid=""),
    _thread_message(17, "Re: Meeting", "<t3@example.test>"),
    _thread_message(18, ""),
    _thread_message(19, "Re:"),
    _thread_message(20, "[fwd: Plans]"),
]
