"""The policy's image pins (``image: REPO[:TAG]@sha256:...``) and MIG rules (``mig:``): read, resolved, refused with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputErrors
from auditor.evaluate.registry import CHECK_IDS
from auditor.policy.files import load_policy

DIGEST = "sha256:9a08a64b86f956c436010f9fdad7ad5c9f6c137136da0c605c751859349e8d10"


def load(tmp_path: Path, rules: str, stacks: str = "") -> object:
    path = tmp_path / "policy.yaml"
    path.write_text(f"schema: auditor.policy/1\n{stacks}rules:\n{rules}")
    return load_policy(path, checks=CHECK_IDS)


def refused(tmp_path: Path, rules: str) -> str:
    with pytest.raises(InputErrors) as caught:
        load(tmp_path, rules)
    return str(caught.value)


def test_a_pinned_ngc_image_is_judged_and_pinned(tmp_path: Path) -> None:
    """REPO:YY.MM@sha256: the knowledge judges the tag (image check), the digest is pinned (image.digest)."""
    policy = load(tmp_path, f'  - id: triton\n    image: "nvcr.io/nvidia/tritonserver:24.08-py3@{DIGEST}"\n')
    (rule,) = policy.rules  # type: ignore[attr-defined]
    assert rule.image == "nvcr.io/nvidia/tritonserver:24.08-py3"
    assert (rule.image_pin.repository, rule.image_pin.tag, rule.image_pin.digest) == (
        "nvcr.io/nvidia/tritonserver",
        "24.08-py3",
        DIGEST,
    )
    assert str(rule.image_pin.location) == f"{tmp_path / 'policy.yaml'}:4"


def test_internal_images_are_pinned_only(tmp_path: Path) -> None:
    """REPO@sha256 and an internal REPO:TAG@sha256 carry no image the knowledge base judges, only the pin."""
    policy = load(
        tmp_path,
        f'  - id: a\n    image: "registry.example.com/team/server@{DIGEST}"\n'
        f'  - id: b\n    image: "registry.example.com/team/server:stable@{DIGEST}"\n',
    )
    a, b = policy.rules  # type: ignore[attr-defined]
    assert (a.image, a.image_pin.tag, b.image, b.image_pin.tag) == (None, None, None, "stable")


def test_a_stack_pin_reaches_its_rules_unless_a_rule_has_its_own_image(tmp_path: Path) -> None:
    """A stack's pinned image is its rules'; a rule's own image (pinned or not) replaces the stack's, pin included."""
    stacks = f'stacks:\n  triton:\n    image: "nvcr.io/nvidia/tritonserver:24.08-py3@{DIGEST}"\n'
    policy = load(
        tmp_path,
        "  - id: uses\n    stack: triton\n  - id: own\n    stack: triton\n    image: nvcr.io/nvidia/tritonserver:24.10-py3\n",
        stacks,
    )
    uses, own = policy.rules  # type: ignore[attr-defined]
    assert uses.image_pin is not None and uses.image_pin.digest == DIGEST
    assert (own.image, own.image_pin) == ("nvcr.io/nvidia/tritonserver:24.10-py3", None)


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("nvcr.io/nvidia/tritonserver@sha256:abc", "not an image reference"),
        ("nvcr.io/nvidia/tritonserver:latest@md5:" + "0" * 32, "not an image reference"),
        ("registry.example.com/team/server:stable", "a YY.MM tag"),  # no digest: the NGC rules as before
    ],
)
def test_bad_pins_are_refused_with_their_line(tmp_path: Path, image: str, fragment: str) -> None:
    """A digest that is not sha256 and 64 hex digits, or an unpinned internal tag: exit 2 naming file:line."""
    text = refused(tmp_path, f'  - id: x\n    image: "{image}"\n')
    assert fragment in text and f"{tmp_path / 'policy.yaml'}:4" in text


def test_mig_rules_in_both_forms(tmp_path: Path) -> None:
    """mig: disabled; mig: {mode, profiles} as a list or as mig-parted's profile: count mapping (same multiset)."""
    policy = load(
        tmp_path,
        "  - id: plain\n    mig: disabled\n"
        "  - id: listed\n    mig: {mode: enabled, profiles: [3g.71gb, 1g.18gb+me, 3g.71gb]}\n"
        "  - id: counted\n    mig:\n      mode: enabled\n      profiles: {3g.71gb: 2, 1g.18gb+me: 1}\n",
    )
    plain, listed, counted = policy.rules  # type: ignore[attr-defined]
    assert (plain.mig.mode, plain.mig.profiles) == ("disabled", ())
    assert listed.mig.profiles == counted.mig.profiles == ("1g.18gb+me", "3g.71gb", "3g.71gb")
    assert str(counted.mig.profiles_location).endswith("policy.yaml:10")


@pytest.mark.parametrize(
    ("mig", "fragment", "line"),
    [
        ("{mode: enable}", "'mig.mode' must be one of enabled, disabled, got 'enable'; did you mean 'enabled'?", 4),
        ("{mode: enabled, profile: [3g.71gb]}", "unknown key 'profile'", 4),
        ("{mode: disabled, profiles: [3g.71gb]}", "'mig.profiles' need 'mode: enabled'", 4),
        ("{mode: enabled, profiles: [3g]}", "'3g' is not a MIG profile", 4),
        ("{mode: enabled, profiles: {3g.71gb: 9}}", "the count of '3g.71gb' must be 1 to 8", 4),
        ("{profiles: [3g.71gb]}", "'mig' needs the key 'mode'", 4),
    ],
)
def test_bad_mig_rules_are_refused_with_their_line(tmp_path: Path, mig: str, fragment: str, line: int) -> None:
    """Each mistake in a mig: rule is an input error at its file:line."""
    text = refused(tmp_path, f"  - id: pool\n    mig: {mig}\n")
    assert fragment in text, text
    assert f"{tmp_path / 'policy.yaml'}:{line}:" in text, text
