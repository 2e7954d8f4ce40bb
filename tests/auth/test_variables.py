from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maa.auth.variables import VariableError, expand, fixed_prefix

VALUES = {"user": "Ann@Ex.Test", "username": "Ann", "domain": "Ex.Test", "home": "/home/ann"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("/m/%d/%n", "/m/Ex.Test/Ann"),
        ("/m/%u", "/m/Ann@Ex.Test"),
        ("%h/Maildir", "/home/ann/Maildir"),
        ("/m/%{domain}/%{username}", "/m/Ex.Test/Ann"),
        ("/m/%{user}%{home}", "/m/Ann@Ex.Test/home/ann"),
        ("/m/%Ld/%Ln", "/m/ex.test/ann"),
        ("/m/%L{domain}/%Un", "/m/ex.test/ANN"),
        ("100%%", "100%"),
        ("no variables", "no variables"),
    ],
)
def test_expand(template: str, expected: str) -> None:
    assert expand(template, VALUES) == expected


@pytest.mark.parametrize("template", ["%", "/m/%x", "%{nope}", "%{domain", "%L"])
def test_expand_refuses(template: str) -> None:
    with pytest.raises(VariableError):
        expand(template, VALUES)


def test_fixed_prefix() -> None:
    assert fixed_prefix("/srv/mail/%d/%n") == "/srv/mail/"
    assert fixed_prefix("/srv/100%%/%n") == "/srv/100%/"
    assert fixed_prefix("/srv/x") == "/srv/x"


@given(st.text(max_size=40))
def test_expand_never_fails_otherwise(template: str) -> None:
    try:
        result = expand(template, VALUES)
    except VariableError:
        return
    if "%" not in template:
        assert result == template
