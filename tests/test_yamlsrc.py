"""``auditor.yamlsrc``: located YAML, the same values PyYAML's safe loader builds."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.errors import InputError
from auditor.yamlsrc import YamlList, YamlMap, parse_yaml

DOCUMENT = """\
defaults: &defaults
  ansible_user: ops
  port: 2222
  note: !!str 123
  flag: yes
hosts:
  gpu01:
    <<: *defaults
    ansible_host: &addr 10.0.0.1
    version: 12.10
  gpu02:
    <<: *defaults
    ansible_host: *addr
    list: [a, 'b', "c", 3, null, ~, 1.5]
"""


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_values_are_what_the_safe_loader_builds_with_lines_kept() -> None:
    """Anchors, aliases, merge keys, explicit tags and YAML 1.1 booleans come out as ``yaml.safe_load``'s
    values (keys that are numbers keep their spelling), and every mapping knows its lines."""
    loaded = parse_yaml(DOCUMENT, "inv.yaml")
    expected = yaml.safe_load(DOCUMENT)
    assert _plain(loaded) == expected
    gpu02 = loaded["hosts"]["gpu02"]
    assert isinstance(gpu02, YamlMap) and isinstance(gpu02["list"], YamlList)
    assert gpu02["ansible_host"] == "10.0.0.1" and gpu02["note"] == "123" and gpu02["flag"] is True
    assert loaded["hosts"]["gpu01"]["version"].text == "12.10"
    assert loaded["hosts"].loc("gpu02").line == 11 and gpu02["list"].item_lines == [14] * 7


def test_duplicate_keys_are_located_errors() -> None:
    with pytest.raises(InputError, match="duplicate key 'a'") as caught:
        parse_yaml("a: 1\nb: 2\na: 3\n", "x.yaml")
    assert caught.value.location is not None and caught.value.location.line == 3


_SCALARS = st.one_of(
    st.text(alphabet="abcxyz019 .:-_'\"#&*!|>%@`", max_size=8),
    st.integers(-1000, 1000),
    st.booleans(),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(alphabet="abckey_", min_size=1, max_size=6), st.lists(_SCALARS, max_size=4) | _SCALARS))
def test_any_document_loads_as_the_safe_loader_loads_it(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data, default_flow_style=False)
    assert _plain(parse_yaml(text, "x.yaml")) == yaml.safe_load(text)
