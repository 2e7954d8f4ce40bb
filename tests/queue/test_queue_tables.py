"""The admin-edited tables: aliases (virtual(5) and aliases(5) styles), transport(5), and
header_checks — parsing, lookups, recursion limits, and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maa.queue.aliases import RECURSION_LIMIT, AliasError, AliasTable
from maa.queue.headerchecks import HeaderChecks, HeaderChecksError, parse_rule
from maa.queue.transport import NextHop, TransportError, TransportTable, parse_nexthop

HOSTED = {"example.test", "lists.example.test"}


def hosted(domain: str) -> bool:
    return domain in HOSTED


ALIASES = """\
# virtual(5) style
info@example.test        alice@example.test, bob@example.test
sales@example.test       info@example.test
  , carol@example.test
@lists.example.test      listmaster@example.test
ext@example.test         someone@remote.test
self@example.test        self@example.test, archive@example.test
# aliases(5) style
postmaster:   root
root:         bob
admins:       bob, alice
"""


def test_virtual_and_aliases_styles_expand_recursively() -> None:
    table = AliasTable.parse(ALIASES)
    expand = lambda a: table.expand(a, is_hosted=hosted, delimiter="+")  # noqa: E731
    assert expand("info@example.test") == ["alice@example.test", "bob@example.test"]
    assert expand("sales@example.test") == [
        "alice@example.test",
        "bob@example.test",
        "carol@example.test",
    ]
    assert expand("postmaster@example.test") == ["bob@example.test"]
    assert expand("admins@example.test") == ["bob@example.test", "alice@example.test"]
    assert expand("anything@lists.example.test") == ["listmaster@example.test"]
    assert expand("ext@example.test") == ["someone@remote.test"]
    assert expand("INFO@Example.Test") == ["alice@example.test", "bob@example.test"]
    assert expand("info+news@example.test") == ["alice@example.test", "bob@example.test"]
    assert expand("postmaster") == ["bob"]  # bare names stay bare (local)
    assert expand("nobody@example.test") == ["nobody@example.test"]


def test_alias_to_itself_delivers_to_itself_too() -> None:
    table = AliasTable.parse(ALIASES)
    assert table.expand("self@example.test", is_hosted=hosted) == [
        "self@example.test",
        "archive@example.test",
    ]


def test_alias_loop_terminates() -> None:
    table = AliasTable.parse("a@example.test b@example.test\nb@example.test a@example.test\n")
    assert table.expand("a@example.test", is_hosted=hosted) == ["a@example.test"]


def test_alias_recursion_limit() -> None:
    chain = "".join(f"a{i}@example.test a{i + 1}@example.test\n" for i in range(200))
    with pytest.raises(AliasError):
        AliasTable.parse(chain).expand("a0@example.test", is_hosted=hosted)
    assert RECURSION_LIMIT < 200


def test_foreign_domains_are_not_looked_up() -> None:
    table = AliasTable.parse("x@remote.test alice@example.test\n")
    assert table.expand("x@remote.test", is_hosted=hosted) == ["x@remote.test"]


def test_bad_alias_lines() -> None:
    with pytest.raises(AliasError):
        AliasTable.parse("nodomain alice@example.test\n")
    with pytest.raises(AliasError):
        AliasTable.parse("lonely@example.test\n")


# Few names, so that random tables are full of cycles and shared branches.
local = st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h", "alice", "bob"])


@given(st.dictionaries(local, st.lists(local, min_size=1, max_size=4), max_size=12), local)
def test_expansion_always_terminates_without_duplicates(
    graph: dict[str, list[str]], start: str
) -> None:
    text = "".join(
        f"{k}@example.test {', '.join(t + '@example.test' for t in v)}\n" for k, v in graph.items()
    )
    result = AliasTable.parse(text).expand(f"{start}@example.test", is_hosted=hosted)
    assert result and len(result) == len({r.lower() for r in result})


@given(st.text(max_size=200))
def test_alias_parser_never_crashes_unexpectedly(text: str) -> None:
    try:
        AliasTable.parse(text)
    except AliasError:
        pass


# -- transport(5) --------------------------------------------------------------------------


def test_nexthop_syntax() -> None:
    assert parse_nexthop("[10.0.0.1]:2525") == NextHop("10.0.0.1", 2525, mx_lookup=False)
    assert parse_nexthop("[relay.test]") == NextHop("relay.test", 25, mx_lookup=False)
    assert parse_nexthop("Relay.Test:587") == NextHop("relay.test", 587, mx_lookup=True)
    assert parse_nexthop("relay.test") == NextHop("relay.test", 25, mx_lookup=True)
    for bad in ("", "[x", "a b", "host:port"):
        with pytest.raises(TransportError):
            parse_nexthop(bad)


def test_transport_lookup_order() -> None:
    table = TransportTable.parse(
        "monvoisin.fr      smtp:[172.16.96.100]:25\n"
        ".monvoisin.fr     smtp:[172.16.96.101]\n"
        "gone.test         error:5.1.2 gone\n"
        "special@other.test relay:[10.0.0.9]:2525\n"
        "*                 smtp:[smarthost.test]:587\n"
    )
    assert table.lookup("a@monvoisin.fr").nexthop == NextHop("172.16.96.100", 25, False)
    assert table.lookup("a@sub.monvoisin.fr").nexthop == NextHop("172.16.96.101", 25, False)
    assert table.lookup("a@gone.test").kind == "error"
    assert table.lookup("special@other.test").nexthop == NextHop("10.0.0.9", 2525, False)
    assert table.lookup("z@anything.test").nexthop == NextHop("smarthost.test", 587, False)
    with pytest.raises(TransportError):
        TransportTable.parse("x.test  pipe:foo\n")


# -- header_checks ---------------------------------------------------------------------------


def test_header_checks_first_match_wins_and_case_rules() -> None:
    checks = HeaderChecks.parse(
        "/^Subject:.*viagra/   REJECT no spam\n"
        "/^Subject:/           WARN\n"
        "/^X-Case: Exact/i     DISCARD\n"
        "!/^Date:/             DUNNO\n"
    )
    assert checks.check("subject: VIAGRA now").action == "REJECT"  # insensitive by default
    assert checks.check("Subject: viagra").text == "no spam"
    assert checks.check("Subject: hello").action == "WARN"
    assert checks.check("X-Case: Exact").action == "DISCARD"
    assert checks.check("X-Case: exact").action == "DUNNO"  # /i toggles to sensitive
    assert checks.check("Date: today") is None


def test_header_checks_errors() -> None:
    for bad in ("Subject WARN", "/unclosed WARN", "/x/ EXPLODE", "/x/q WARN", "/(/ WARN", "/x/"):
        with pytest.raises(HeaderChecksError):
            parse_rule(bad)


@given(st.text(max_size=100))
def test_header_checks_parser_never_crashes_unexpectedly(line: str) -> None:
    try:
        rule = parse_rule(line)
    except HeaderChecksError:
        return
    rule.matches("Subject: anything")


# Built from labels: from_regex is slow to draw from.
hostnames = st.lists(
    st.sampled_from(["mx", "relay", "a1", "b-2", "example", "test", "10", "0"]),
    min_size=1,
    max_size=4,
).map(".".join)


@given(hostnames, st.integers(min_value=1, max_value=65535), st.booleans())
def test_nexthop_round_trips_through_its_text(host: str, port: int, mx: bool) -> None:
    hop = NextHop(host, port, mx_lookup=mx)
    assert parse_nexthop(str(hop)) == hop


@given(st.text(max_size=200))
def test_transport_parser_never_crashes_unexpectedly(text: str) -> None:
    try:
        table = TransportTable.parse(text)
    except TransportError:
        return
    table.lookup("someone@some.where.test")


def test_an_edited_table_is_reread_and_a_broken_edit_keeps_the_last_good_one(
    make_ctx, maillog, tmp_path
) -> None:
    import os

    from maa.queue.routing import Router

    ctx = make_ctx(
        files={"aliases": "team@example.test alice@example.test\n"},
        submission={"aliases": "aliases"},
    )
    router = Router(ctx.config, ctx.userdb)
    assert router.expand("team@example.test") == ["alice@example.test"]
    aliases = tmp_path / "etc" / "aliases"
    aliases.write_text("team@example.test bob@example.test, carol\n")
    os.utime(aliases, (1, 1))  # a different mtime even within one clock tick
    assert router.expand("team@example.test") == ["bob@example.test", "carol@example.test"]
    aliases.write_text("broken-line-without-domain alice@example.test\n")
    os.utime(aliases, (2, 2))
    assert router.expand("team@example.test") == ["bob@example.test", "carol@example.test"]
    assert "keeping the previous table" in maillog.text


def test_maa_check_reports_broken_tables_as_postmap_would(
    make_ctx, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    from maa.cli import main

    ctx = make_ctx(
        files={
            "aliases": "team@example.test alice@example.test\nno-domain bob@example.test\n",
            "transport": "neighbour.test  uucp:somewhere\n",
            "checks": "/^Subject:.*(/ REJECT\n",
            "sasl_passwd": "[relay.test]:587 user:pw\n",
        },
        submission={
            "aliases": "aliases",
            "transport_maps": "transport",
            "header_checks": "checks",
            "relayhost_credentials": "sasl_passwd",
            "relayhost": "[relay.test]:587",
        },
        smtp={"mynetworks": ["127.0.0.0/8", "10.0.0.0/33"]},
    )
    etc = tmp_path / "etc"
    (etc / "sasl_passwd").chmod(0o644)
    assert main(["check", "-c", str(ctx.config.path)]) == 1
    out = capsys.readouterr().out
    assert f"error: {etc / 'aliases'}:2: 'no-domain': a virtual key needs a @domain" in out
    assert f"error: {etc / 'transport'}:1: unsupported transport 'uucp'" in out
    assert f"error: {etc / 'checks'}:1:" in out
    assert "error: [smtp] mynetworks: " in out and "10.0.0.0/33" in out
    assert f"warning: {etc / 'sasl_passwd'}: readable by others" in out

    (etc / "aliases").unlink()
    for name, text in (("transport", ""), ("checks", ""), ("sasl_passwd", "")):
        (etc / name).write_text(text)
    (etc / "sasl_passwd").chmod(0o600)
    good = make_ctx(submission={"aliases": "aliases"})
    assert main(["check", "-c", str(good.config.path)]) == 1
    assert (
        f"error: {etc / 'aliases'}: no such file ([submission] aliases)" in capsys.readouterr().out
    )


def test_a_missing_table_file_is_logged(make_ctx, maillog) -> None:
    from maa.queue.routing import Router

    ctx = make_ctx(submission={"aliases": "aliases"})  # set, but no such file
    router = Router(ctx.config, ctx.userdb)
    warning = "aliases: no such file; the table is empty"
    assert router.expand("team@example.test") == ["team@example.test"]
    once = maillog.text.count(warning)
    assert once and router.expand("team@example.test") == ["team@example.test"]
    assert maillog.text.count(warning) == once  # said once, not at every lookup
