"""Probe output is untrusted: strict parsing, located type errors, cleaned strings."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from auditor.facts.model import DriverStatus, EngineLoad, FactsError, encode_document
from auditor.facts.reader import _clean_tree, parse_facts, read_stored
from tests.support.documents import document, facts
from tests.support.paths import REAL


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
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "driver",
                "gpus",
                "cuda",
                "cudnn",
                "tensorrt",
                "engines",
                "containers",
                "host",
                "schema",
                "error",
                "truncated",
            ]
        ),
        json_values,
    )
)
def test_arbitrary_json_parses_or_raises_facts_error(sections: dict[str, object]) -> None:
    """Whatever a lying host sends, parsing ends in Facts or FactsError, never a crash."""
    doc = document()
    doc.update(sections)
    try:
        parse_facts(json.dumps(doc))
    except FactsError:
        pass


def test_optional_fields_added_by_probe_0_2_parse() -> None:
    """Engine logs, wrappers and GPUs, compat activity, library errors and the truncation flag become typed."""
    parsed = facts(
        truncated=True,
        driver={"library_version": "535.104.05", "notes": "NVML: file too short"},
        cuda={
            "compat": [{"path": "/usr/local/cuda-12.8/compat", "version": "570.124.06", "cuda": "12.8", "active": True}]
        },
        cudnn={"installs": [{"version": "9.1.0", "source": "library", "path": "/lib/libcudnn.so.9", "error": "x"}]},
        tensorrt={"trtexec": "/usr/src/tensorrt/bin/trtexec", "header_path": "/usr/include/NvInferVersion.h"},
        engines={
            "items": [
                {
                    "path": "/m/sm80.plan",
                    "template": "/m/{sm}.plan",
                    "exists": True,
                    "header": {"magic": True, "tensorrt_version": "10.3.0.26", "wrapper": "ultralytics"},
                    "load": {
                        "status": "version-mismatch",
                        "runtime": "tensorrt",
                        "runtime_version": "10.3.0.26",
                        "gpu": 0,
                        "io_tensors": 2,
                        "log": ["Version tag does not match"],
                        "seconds": 0.5,
                    },
                }
            ]
        },
    )
    assert parsed.truncated and parsed.driver.library_version == "535.104.05" and parsed.driver.notes
    assert parsed.cuda.compat[0].active is True and parsed.cudnn.installs[0].error == "x"
    assert parsed.tensorrt.trtexec == "/usr/src/tensorrt/bin/trtexec"
    (engine,) = parsed.engines.items
    assert (engine.load, engine.runtime_version, engine.load_gpu, engine.io_tensors) == (
        EngineLoad.VERSION_MISMATCH,
        "10.3.0.26",
        0,
        2,
    )
    assert engine.header_wrapper == "ultralytics" and engine.log == ("Version tag does not match",)


@pytest.mark.parametrize(
    ("sections", "fragment"),
    [
        (
            {"engines": {"items": [{"path": "/a", "load": {"log": "oops"}}]}},
            "$.engines.items[0].load.log must be a list",
        ),
        ({"engines": {"items": [{"path": "/a", "load": {"gpu": "0"}}]}}, "load.gpu must be an integer"),
        ({"cuda": {"compat": [{"path": "/c", "active": "yes"}]}}, "$.cuda.compat[0].active must be true or false"),
        ({"truncated": "yes"}, "$.truncated must be true or false"),
    ],
)
def test_new_fields_of_the_wrong_type_are_located(sections: dict[str, object], fragment: str) -> None:
    """The optional fields are checked as strictly as the old ones."""
    with pytest.raises(FactsError) as info:
        parse_facts(json.dumps(document(**sections)))
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "name", ["probe.json", "probe-plain.json", "probe-engines.json", "probe-nocuda.json", "probe-denied.json"]
)
def test_raw_is_the_probe_document_key_for_key_in_its_order(name: str) -> None:
    """``raw`` (kept as compact bytes, decoded on demand) equals what the H200 printed, keys in the same order."""
    original = json.loads((REAL / name).read_bytes())
    parsed = parse_facts((REAL / name).read_bytes())
    assert parsed.raw == original
    assert json.dumps(parsed.raw) == json.dumps(original)  # nested key order too, as reports show it


@settings(max_examples=200)
@given(json_values)
def test_raw_round_trips_any_value_the_cleaner_keeps(value: object) -> None:
    """Whatever a host adds to its document comes back from ``raw`` exactly as the cleaner left it."""
    doc = dict(document(), extra=value)
    try:
        cleaned = _clean_tree(doc)
    except FactsError:
        assume(False)  # a number the reader refuses: tested above
    assert json.dumps(parse_facts(json.dumps(doc)).raw) == json.dumps(cleaned)


def test_raw_is_a_new_dictionary_each_time() -> None:
    """A caller that changes what ``raw`` returned changes nothing the facts hold."""
    parsed = facts()
    changed = parsed.raw
    changed["driver"]["version"] = "1.0"
    assert parsed.raw["driver"]["version"] == parsed.driver.version != "1.0"


def test_hosts_share_one_copy_of_each_string() -> None:
    """Two hosts reporting the same versions and GPU names hold the same string objects (a large fleet keeps all)."""
    one, two = (parse_facts(json.dumps(document())) for _ in range(2))
    assert one.driver.version is two.driver.version and one.driver.version is not None
    assert one.gpus.devices[0].name is two.gpus.devices[0].name and one.gpus.devices[0].name is not None


def test_stored_facts_are_read_back_by_the_same_strict_reader() -> None:
    """A report's stored ``facts`` read back equal the facts parsed from the probe; a damaged copy is a FactsError."""
    parsed = parse_facts(json.dumps(document()))
    assert read_stored(parsed.raw) == parsed
    damaged = dict(parsed.raw, gpus={"count": "eight"})
    with pytest.raises(FactsError, match=r"\$\.gpus\.count"):
        read_stored(damaged)
    with pytest.raises(FactsError, match="unexpected schema"):
        read_stored({"schema": "auditor.report/1"})


hostile_text = st.text(
    alphabet=st.sampled_from("ab \t\n\r\x00\x1b\x7f\x85\x9f\u061c\u200e\u2028\u2029\u202e\u2066é…"), max_size=6
) | st.builds(lambda n, c: c * n, st.sampled_from([127, 128, 129, 4095, 4096, 4097]), st.sampled_from("a\n"))
hostile_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64) | st.floats() | hostile_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=500)
@given(hostile_values.filter(lambda v: isinstance(v, (dict, list))))
def test_the_fast_path_keeps_only_documents_the_full_cleaning_leaves_unchanged(tree: object) -> None:
    """A tree ``_tidy`` passes through uncopied is one ``_clean_tree`` returns equal and without error."""
    from auditor.facts.reader import _clean_tree, _tidy

    if _tidy(tree, 0) >= 0:  # type: ignore[arg-type]
        assert json.dumps(_clean_tree(tree)) == json.dumps(tree)


@pytest.mark.parametrize("depth", [31, 32, 33])
def test_the_fast_path_leaves_too_deep_documents_to_the_full_cleaning(depth: int) -> None:
    """Nesting past the limit is still the located parse error, whichever path reads the document."""
    from auditor.facts.reader import _MAX_DEPTH, _clean_tree, _tidy

    tree: object = 1
    for _ in range(depth):
        tree = [tree]
    too_deep = depth > _MAX_DEPTH
    assert (_tidy(tree, 0) < 0) is too_deep  # type: ignore[arg-type]
    if too_deep:
        with pytest.raises(FactsError, match="nested too deeply"):
            _clean_tree(tree)
    else:
        assert _clean_tree(tree) == tree


@settings(max_examples=500)
@given(hostile_values.filter(lambda v: isinstance(v, (dict, list))), st.booleans())
def test_text_the_plain_check_vouches_for_needs_no_string_scan(tree: object, ascii_only: bool) -> None:
    """``_plain`` text (printable ASCII, no escape) decodes to strings ``clean`` leaves alone: the fast
    path that skips scanning them gives the same answer as the one that scans every string."""
    from auditor.facts.reader import _plain, _tidy

    text = json.dumps(tree, ensure_ascii=ascii_only)
    decoded = json.loads(text)
    if _plain(text):
        assert _tidy(decoded, 0, plain=True) == _tidy(decoded, 0)


@pytest.mark.parametrize("raw_text", ['"caf\u00e9"', '"a\\u001bb"', '"tab\\tin"', '"del\x7f"', '"\u202eevil"'])
def test_text_with_an_escape_or_beyond_ascii_is_not_plain(raw_text: str) -> None:
    """Any escape sequence, DEL or non-ASCII character sends the document through the scan of every string."""
    from auditor.facts.reader import _plain

    assert not _plain('{"name": ' + raw_text + "}")
    assert _plain('{"name": "gpu-01 H100 80GB HBM3", "count": 8}')


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_tidy_document_is_kept_as_the_host_wrote_it_and_a_cleaned_one_compact(ensure_ascii: bool) -> None:
    """Facts keep the host's own text (stripped) when reading changed nothing, so parsing encodes nothing
    again; a document whose strings were cleaned is kept as the compact encoding of the cleaned tree.
    ``raw`` decodes either to the document the reader accepted."""
    doc = document()
    text = json.dumps(doc, ensure_ascii=ensure_ascii)
    parsed = parse_facts(b"\n  " + text.encode("utf-8") + b"\n")
    assert parsed.document == text.encode("utf-8") and parsed.raw == doc
    dirty = dict(doc, host=dict(doc["host"], hostname="node\x1b[31m-1\u202e"))
    cleaned = parse_facts(json.dumps(dirty, ensure_ascii=ensure_ascii))
    assert cleaned.document == encode_document(_clean_tree(dirty))
    assert cleaned.raw["host"]["hostname"] == cleaned.host.hostname == "node[31m-1"


def test_a_document_naming_a_key_twice_is_kept_as_what_was_read_never_as_the_host_wrote_it() -> None:
    """``json.loads`` keeps the last of two equal keys; the facts read the same, and the text kept
    (which the JSON report and the history write as it is) is the encoding of what was read, so that
    no reader of a report can take the other value. So is a document with escapes, or spaces before
    a colon: only plain, colon-tight text is kept as the host wrote it."""
    doc = document()
    text = json.dumps(doc)
    assert text.startswith('{"schema": ')
    twice = text.replace('"driver": {', '"driver": {"version": "999.1", ', 1)  # the probe's own comes after
    parsed = parse_facts(twice)
    assert parsed.driver.version == doc["driver"]["version"]
    assert parsed.document == encode_document(json.loads(twice)) and parsed.raw == doc
    assert b"999.1" not in parsed.document
    nested = text.replace('"schema": ', '"host": {"hostname": "decoy"}, "schema": ', 1)
    assert parse_facts(nested).document == encode_document(json.loads(nested))
    spaced = text.replace('"schema": ', '"schema" : ', 1)
    assert parse_facts(spaced).document == encode_document(doc)
    escaped = json.dumps(dict(doc, host=dict(doc["host"], hostname="caf\u00e9")))
    assert parse_facts(escaped).document == encode_document(json.loads(escaped))
    assert parse_facts(text).document == text.encode("utf-8")


@settings(max_examples=500)
@given(hostile_values.filter(lambda v: isinstance(v, (dict, list))))
def test_the_member_count_of_plain_text_matches_the_tree_unless_a_string_starts_with_a_colon(tree: object) -> None:
    """For text ``_plain`` vouches for, the count of quote-colon pairs is the tree's member count,
    except that a string starting with a colon adds one: a mismatch only ever re-encodes."""
    from auditor.facts.reader import _count_members, _plain, _tidy

    text = json.dumps(tree)
    members = _tidy(json.loads(text), 0, plain=True)
    assume(_plain(text) and members >= 0)
    strings = _strings(tree)
    assert _count_members(text) == members + sum(s.startswith(":") for s in strings)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value.keys(), *(s for v in value.values() for s in _strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _installed(*items: dict[str, object]) -> str:
    return json.dumps({"schema": "auditor.facts/1", "packages": {"manager": "apt", "installed": list(items)}})


def test_a_package_every_host_has_is_one_record_for_all_of_them() -> None:
    """The same object on two hosts is the record built for the first: a fleet holds one copy of what it repeats."""
    item = {"arch": "amd64", "held": False, "name": "libnvinfer10", "version": "10.13.3.9-1+cuda13.0"}
    one, two = (parse_facts(_installed(dict(item))).packages.installed[0] for _ in range(2))
    assert one is two and one.name == "libnvinfer10" and one.held is False


@pytest.mark.parametrize(
    ("first", "second"),
    [({"held": False}, {"held": 0}), ({"held": True}, {"held": 1}), ({"held": False}, {"held": None, "x": 1})],
)
def test_a_value_equal_to_one_read_before_but_of_another_type_is_read_again(
    first: dict[str, object], second: dict[str, object]
) -> None:
    """``0 == False`` in Python: a host that writes 0 where a boolean belongs is still the located error."""
    base = {"name": "cuda-toolkit-13-0", "version": "13.0.2-1"}
    parse_facts(_installed({**base, **first}))
    if "x" in second:  # unknown keys are ignored, and a None flag is false
        assert parse_facts(_installed({**base, **second})).packages.installed[0].held is False
        return
    with pytest.raises(FactsError, match=r"\$\.packages\.installed\[0\]\.held must be true or false"):
        parse_facts(_installed({**base, **second}))


_LOOKALIKES = [None, True, False, 0, 1, 0.0, -0.0, 1.0, "", "1", "1.0", [], {}]  # equal to each other in Python, often


@pytest.mark.parametrize("key", ["name", "version", "arch", "held"])
def test_what_the_memo_answers_is_what_reading_afresh_answers(key: str) -> None:
    """A package object read after another that differs in one value (``0`` after ``False``, ``1.0`` after ``"1.0"``,
    ``-0.0`` after ``0.0``) reads the same, record for record or error for error, as it does with no memo."""
    import auditor.facts.reader as reader

    base = {"name": "cuda", "version": "1.0", "arch": "amd64", "held": False}

    def outcome(items: list[dict[str, object]]) -> object:
        try:
            return parse_facts(_installed(*items)).packages.installed
        except FactsError as exc:
            return str(exc)

    for first, second in itertools.product(_LOOKALIKES, repeat=2):
        items = [{**base, key: first}, {**base, key: second}]
        warm = outcome(items)  # the second object comes from the memo wherever the memo would answer for it
        kinds = reader._MEMO_TYPES
        reader._MEMO_TYPES = frozenset()  # nothing is taken from the memo: every object read afresh
        try:
            assert outcome(items) == warm, (first, second)
        finally:
            reader._MEMO_TYPES = kinds


def test_the_memo_is_bounded() -> None:
    """A host listing thousands of distinct packages cannot grow what the reader keeps past its limit."""
    import auditor.facts.reader as reader

    items = [{"name": f"pkg{i}", "version": "1.0", "held": False} for i in range(reader._MEMO_LIMIT + 10)]
    parse_facts(_installed(*items[: reader._MEMO_LIMIT // 2]))
    parse_facts(_installed(*items))
    assert 0 < len(reader._memo) <= reader._MEMO_LIMIT


# --- sections a fleet repeats: read once, by their text --------------------------------------------------------


def _fleet_text(elapsed: object = 0.25, **changes: Any) -> str:
    """A probe answer as the probe writes it (sorted keys, ``", "`` and ``": "``), every collector timed."""
    sent = document()
    for value in sent.values():
        if isinstance(value, dict):
            value["elapsed_s"] = elapsed
    for name, value in changes.items():
        sent[name] = value
    return json.dumps(sent, sort_keys=True)


def _outcome(text: str) -> object:
    try:
        parsed = parse_facts(text)
    except FactsError as exc:
        return str(exc)
    return parsed, parsed.document


def _afresh(texts: list[str]) -> list[object]:
    """What each text reads as with nothing kept from an earlier one."""
    import auditor.facts.reader as reader

    shared, reader._SHARED = reader._SHARED, frozenset()
    try:
        return [_outcome(text) for text in texts]
    finally:
        reader._SHARED = shared


def test_a_section_every_host_sends_is_read_once() -> None:
    """Two hosts whose driver sections differ only in the collector's elapsed time share one record;
    a host whose driver differs in anything else gets its own."""
    one = parse_facts(_fleet_text(elapsed=0.25))
    two = parse_facts(_fleet_text(elapsed=1.5))
    assert two.driver is one.driver and two.tensorrt is one.tensorrt
    driver = {**document()["driver"], "version": "580.95.05", "elapsed_s": 0.25}
    three = parse_facts(_fleet_text(driver=driver))
    assert three.driver is not one.driver and three.driver.version == "580.95.05"
    assert json.loads(two.document)["driver"]["elapsed_s"] == 1.5  # the host's own text is what is kept


@pytest.mark.parametrize(
    ("elapsed", "fragment"),
    [("1e400", ".elapsed_s: number out of range"), ("1" + "0" * 30, ".elapsed_s: integer out of range")],
)
def test_an_unbounded_elapsed_time_in_a_section_read_before_is_still_the_located_error(
    elapsed: str, fragment: str
) -> None:
    """The number left out of the comparison is checked on every host."""
    first = _fleet_text()
    parse_facts(first)
    at = first.index('"elapsed_s": 0.25', first.index('"driver"'))
    text = first[:at] + f'"elapsed_s": {elapsed}' + first[at + len('"elapsed_s": 0.25') :]
    with pytest.raises(FactsError, match=r"^\$\.driver\.elapsed_s: ") as caught:
        parse_facts(text)
    assert fragment in str(caught.value)
    assert _afresh([text]) == [_outcome(text)]


_SECTION_EDITS = st.sampled_from(
    [
        lambda s: s,
        lambda s: s.replace('"elapsed_s": 0.25', '"elapsed_s": 7', 1),
        lambda s: s.replace('"elapsed_s": 0.25', '"elapsed_s": -0.0', 1),
        lambda s: s.replace('"elapsed_s": 0.25', '"elapsed_s": true', 1),
        lambda s: s.replace('"elapsed_s": 0.25', '"elapsed_s": "soon"', 1),
        lambda s: s.replace('"elapsed_s": 0.25', '"elapsed_s" : 0.25', 1),
        lambda s: s.replace('"elapsed_s": 0.25', '"elapsed_s": 1e999', 1),
        lambda s: s.replace('"version": "535.104.05"', '"version": "535.104.06"', 1),
        lambda s: s.replace('"version": "535.104.05"', '"version": 535', 1),
        lambda s: s.replace('"status": "ok"', '"status": "ok", "status": "fine"', 1),
        lambda s: s.replace('"status": "ok"', '"status": "ok", "elapsed_s": 3', 1),
        lambda s: s.replace('"mismatch": false', '"mismatch": 0', 1),
        lambda s: s.replace('"mismatch": false', '"mismatch": false, "x": {"elapsed_s": 2}', 1),
        lambda s: s.replace('"driver": {', '"driver": {"elapsed_s": 9, ', 1),
        lambda s: s.replace('"driver": {', '"driver": {"note": "\\u202e", ', 1),
        lambda s: s.replace('"schema"', '"driver": null, "schema"', 1),
        lambda s: s.replace(', "schema"', ', "driver": {"status": "ok"}, "schema"', 1),
        lambda s: s + " x",
        lambda s: s[:-1],
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_SECTION_EDITS, min_size=1, max_size=6))
def test_what_sections_read_before_answer_is_what_reading_afresh_answers(edits: list[Any]) -> None:
    """Hosts that answer with the same sections but for one change (elapsed times of every kind, a version,
    a key twice, a nested elapsed_s, a wrong type, an escape, broken JSON) read, each of them, exactly as
    they read with nothing kept: the same facts and kept text, or the same error."""
    import auditor.facts.reader as reader

    texts = [edit(_fleet_text()) for edit in edits]
    reader._seen.kept.clear()
    warm = [_outcome(text) for text in texts]
    assert warm == _afresh(texts)


def test_what_sections_read_before_are_kept_is_bounded() -> None:
    import auditor.facts.reader as reader

    for index in range(reader._SEEN_LIMIT + 20):
        driver = {**document()["driver"], "version": f"535.{index}.05", "elapsed_s": 0.1}
        parse_facts(_fleet_text(driver=driver))
    assert 0 < len(reader._seen.kept) <= reader._SEEN_LIMIT


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(max_size=6), _JSON, max_size=5),
    st.sampled_from([(", ", ": "), (",", ":"), (" , ", " : ")]),
    st.sampled_from(["", " ", "\n"]),
)
def test_reading_members_one_by_one_is_reading_the_object(
    value: dict[str, Any], separators: tuple[str, str], pad: str
) -> None:
    """Each member is what ``json.loads`` reads and its span is its value's text; anything that is not one
    object (trailing text, an array, a broken member) is left to json."""
    from auditor.facts.reader import _read_members

    text = pad + json.dumps(value, separators=separators, ensure_ascii=False) + pad
    read = _read_members(text.strip())
    assert read is not None
    members, spans = read
    assert members == json.loads(text) and list(members) == list(json.loads(text))
    for key, (start, end) in spans.items():
        assert json.loads(text.strip()[start:end]) == members[key]
    for other in (text.strip() + " 1", text.strip()[:-1], "[" + text.strip() + "]", text.strip().replace(":", "", 1)):
        try:
            expected = json.loads(other)
        except ValueError:
            expected = None
        found = _read_members(other)
        assert (found[0] if found is not None else None) == (expected if isinstance(expected, dict) else None)
