"""Kubernetes versions: parsed strictly, ordered numerically, and the one-hop rule."""

from __future__ import annotations

import pytest

from shared.domain import versions
from shared.domain.versions import KubernetesVersion as V


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.30.5", V(1, 30, 5)),
        ("v1.30.5", V(1, 30, 5)),
        ("V1.30.5", V(1, 30, 5)),
        (" 1.30.5 ", V(1, 30, 5)),
        ("1.30.10", V(1, 30, 10)),
        ("1.0.0", V(1, 0, 0)),
    ],
)
def test_parse_reads_ga_versions_and_tolerates_a_leading_v(text: str, expected: V) -> None:
    assert versions.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1.30",
        "1",
        "1.30.5-rc1",
        "1.30.5-rc.1",
        "1.30.5a1",
        "1.30.5.dev0",
        "1.30.5.post1",
        "1.30.5.post0",
        "1.30.5-0",
        "0!1.30.5",
        "1.30.5-1",
        "1.30.5+abc",
        "1!1.30.5",
        "1.30.5.0",
        "1.30.x",
        "latest",
        "1.30.5-preview",
        "one.two.three",
    ],
)
def test_parse_refuses_previews_partial_versions_and_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes version"):
        versions.parse(text)


@pytest.mark.parametrize("not_text", [None, 1.3, 130, ["1.30.5"]])
def test_parse_refuses_what_is_not_a_string(not_text: object) -> None:
    with pytest.raises(ValueError):
        versions.parse(not_text)  # type: ignore[arg-type]
    assert versions.is_version(not_text) is False


def test_str_round_trips_through_parse() -> None:
    assert str(versions.parse("v1.31.12")) == "1.31.12"


@pytest.mark.parametrize(
    ("lower", "higher"),
    [("1.30.9", "1.30.10"), ("1.9.30", "1.10.0"), ("1.29.99", "1.30.0"), ("1.30.0", "2.0.0")],
)
def test_ordering_is_numeric_not_textual(lower: str, higher: str) -> None:
    assert versions.parse(lower) < versions.parse(higher)


def test_newest_ignores_input_order_and_is_none_for_nothing() -> None:
    listed = [versions.parse(t) for t in ("1.30.9", "1.30.10", "1.29.15")]
    assert versions.newest(listed) == V(1, 30, 10)
    assert versions.newest(reversed(listed)) == V(1, 30, 10)
    assert versions.newest([]) is None


@pytest.mark.parametrize(
    ("current", "candidate", "one_hop"),
    [
        ("1.30.5", "1.30.5", True),  # staying put is not a move, but not forbidden
        ("1.30.5", "1.30.9", True),  # newer patch
        ("1.30.5", "1.31.0", True),  # next minor, any patch
        ("1.30.5", "1.31.12", True),
        ("1.30.5", "1.32.0", False),  # skips a minor
        ("1.30.5", "1.30.4", False),  # downgrade
        ("1.30.5", "1.29.20", False),  # downgrade of a minor
        ("1.30.5", "2.0.0", False),  # another major
    ],
)
def test_one_hop_allows_newer_patches_and_the_next_minor_only(current: str, candidate: str, one_hop: bool) -> None:
    assert versions.is_one_hop(versions.parse(current), versions.parse(candidate)) is one_hop


def test_minor_line_is_major_and_minor() -> None:
    assert versions.parse("1.30.5").minor_line == (1, 30)
