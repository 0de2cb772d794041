"""Probe output is untrusted: strict parsing, located type errors, cleaned strings."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.facts import DriverStatus, FactsError, parse_facts
from tests.helpers import document, facts


def test_valid_document_becomes_typed_facts() -> None:
    """Every section is parsed into its typed value."""
    parsed = facts()
    assert parsed.driver.status is DriverStatus.OK and parsed.driver.cuda_version == "12.2"
    assert parsed.gpus.devices[0].compute_capability == "8.0"
    assert parsed.cuda.default_toolkit is not None and parsed.cuda.default_toolkit.version == "12.2.2"
    assert parsed.tensorrt.python_version == "8.6.1.6"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"", "printed nothing"),
        (b"Segmentation fault", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"schema": "other/1"}', "unexpected schema"),
        (b'{"schema": "auditor.facts/1", "error": "bad arguments"}', "probe failed: bad arguments"),
        (b'{"schema": "auditor.facts/1", "driver": {"version": 535}}', "$.driver.version must be a string"),
        (b'{"schema": "auditor.facts/1", "gpus": {"count": -1}}', "$.gpus.count must not be negative"),
        (b'{"schema": "auditor.facts/1", "gpus": {"count": 1, "devices": [1]}}', "$.gpus.devices[0] must be an object"),
        (b'{"schema": "auditor.facts/1", "driver": {"status": "fine"}}', "unknown driver status"),
        (b'{"schema": "auditor.facts/1", "driver": {"mismatch": "yes"}}', "must be true or false"),
        (b'{"schema": "auditor.facts/1", "gpus": {"count": 0, "devices": [{}]}}', "count is 0 but 1 devices"),
        (b'{"schema": "auditor.facts/1", "x": NaN}', "not JSON"),
        (b"[" * 100000, "nested too deeply"),
    ],
)
def test_unusable_output_is_a_located_facts_error(payload: bytes, fragment: str) -> None:
    """Lies, garbage and floods of nesting raise FactsError naming the problem."""
    with pytest.raises(FactsError) as info:
        parse_facts(payload)
    assert fragment in str(info.value)


def test_missing_sections_are_facts_with_an_error_not_a_failure() -> None:
    """An old or partial probe output still parses; the missing section says so."""
    parsed = parse_facts(json.dumps({"schema": "auditor.facts/1"}))
    assert parsed.driver.status is DriverStatus.UNKNOWN
    assert parsed.section_error("tensorrt") == "section 'tensorrt' missing from probe output"


def test_control_characters_and_bidi_overrides_are_stripped() -> None:
    """ANSI escapes, NULs and bidi overrides never survive into facts."""
    hostile = "\x1b[31mNVIDIA\x00 A100\u202e[bold red]x[/]\x07"
    parsed = facts(gpus={"devices": [{"index": 0, "name": hostile}]})
    name = parsed.gpus.devices[0].name
    assert name == "[31mNVIDIA A100[bold red]x[/]"
    assert "\x1b" not in json.dumps(parsed.raw) and "\\u001b" not in json.dumps(parsed.raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["driver", "gpus", "cuda", "tensorrt", "host", "schema", "error"]), json_values))
def test_arbitrary_json_parses_or_raises_facts_error(sections: dict[str, object]) -> None:
    """Whatever a lying host sends, parsing ends in Facts or FactsError, never a crash."""
    doc = document()
    doc.update(sections)
    try:
        parse_facts(json.dumps(doc))
    except FactsError:
        pass
