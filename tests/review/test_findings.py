"""Finding and Review: severities, verdicts, filters and the JSON form."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mediamix.review import SEVERITIES, Finding, Review


def _review() -> Review:
    return Review((
        Finding("a", "pass", "fine", {"x": 1.0}),
        Finding("b", "review", "look at b", {"values": np.array([0.5, 0.25])}, "do b"),
        Finding("c", "fail", "c is broken", {"count": np.int64(3), "names": ("x1", "x2")}, "fix c"),
    ))


def test_severities_are_ordered_best_to_worst() -> None:
    assert SEVERITIES == ("pass", "review", "fail")


@pytest.mark.parametrize(("severities", "verdict"), [
    ((), "pass"), (("pass", "pass"), "pass"), (("pass", "review"), "review"), (("fail", "review", "pass"), "fail"),
])
def test_verdict_is_the_worst_severity(severities: tuple[str, ...], verdict: str) -> None:
    review = Review(tuple(Finding(f"c{i}", s, "m") for i, s in enumerate(severities)))  # type: ignore[arg-type]
    assert review.verdict == verdict


def test_filters() -> None:
    review = _review()
    assert review.checks == ("a", "b", "c")
    assert [f.check for f in review.problems()] == ["b", "c"]
    assert [f.check for f in review.with_severity("fail")] == ["c"]
    assert review.get("b").next_step == "do b"  # type: ignore[union-attr]
    assert review.get("nope") is None
    assert len(review) == 3 and [f.check for f in review] == ["a", "b", "c"]
    assert (review + Review((Finding("d", "pass", "ok"),))).checks == ("a", "b", "c", "d")


def test_unknown_severity_is_rejected_naming_the_check() -> None:
    with pytest.raises(ValueError, match="The 'severity' of finding 'x' must be one of pass, review, fail. Got 'warn'"):
        Finding("x", "warn", "m")  # type: ignore[arg-type]


def test_numbers_become_plain_python_and_json_safe() -> None:
    review = _review()
    c = review.get("c")
    assert c is not None and type(c.numbers["count"]) is int and c.numbers["names"] == ["x1", "x2"]
    payload = review.to_dict()
    assert payload["verdict"] == "fail"
    assert payload["findings"][1] == {"check": "b", "severity": "review", "message": "look at b",
                                      "numbers": {"values": [0.5, 0.25]}, "next_step": "do b"}
    json.dumps(payload, allow_nan=False)
    assert Review.from_dict(payload) == review


def test_non_finite_numbers_are_written_as_null_and_read_back_as_nan() -> None:
    finding = Finding("vif", "fail", "m", {"vif": math.inf, "r": math.nan, "list": [1.0, math.inf]})
    assert finding.to_dict()["numbers"] == {"vif": None, "r": None, "list": [1.0, None]}
    back = Finding.from_dict(finding.to_dict())
    assert math.isnan(back.numbers["vif"])  # type: ignore[arg-type]


def test_numbers_must_be_numbers_strings_or_lists() -> None:
    with pytest.raises(TypeError, match="Got dict"):
        Finding("x", "pass", "m", {"bad": {"nested": 1}})  # type: ignore[dict-item]
