"""What the controller sends a host for its reference engines: candidates in the request, plans in the program.

For each required name every library plan of that name travels, in preference order
(``picking.ordered``), each with where its bytes are in the payload, its sha256, its
``Acceptance``, its recorded input, expected output and tolerance. The payload is the
plans' bytes one after another (a plan wanted twice travels once) and goes into the
probe program as ``AUDITOR_PAYLOAD`` (``auditor.probe.probe_program``): one exec per
host, nothing uploaded beside it. The probe writes only the plan it runs, to a private
directory it removes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditor.errors import InputError, InputErrors
from auditor.inventory import Host
from auditor.policy.model import Policy
from auditor.probe.program import MAX_PAYLOAD_BYTES, PayloadTooLarge, ProbeCall, probe_program
from auditor.probe.request import encode_request
from auditor.records import record
from auditor.reference.library import Library, LibraryError, LibraryPlan, load_library
from auditor.reference.picking import acceptance, ordered


@record
class Shipment:
    """The request's ``reference`` list and the payload its candidates point into."""

    references: tuple[Mapping[str, Any], ...]
    payload: bytes


def candidate(plan: LibraryPlan, offset: int) -> dict[str, Any]:
    """One plan as the probe's ``collect_reference`` reads it."""
    meta = plan.meta
    rule = acceptance(meta)
    return {
        "id": meta.id,
        "sha256": meta.sha256,
        "size": meta.size,
        "offset": offset,
        "rule": "+".join(rule.rules),
        "accepts": rule.to_json(),
        "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "data": t.data} for t in meta.inputs],
        "outputs": [
            {
                "name": t.name,
                "shape": list(t.shape),
                "dtype": t.dtype,
                "expected": next(
                    ({"values": list(e.values), "sha256": e.sha256} for e in meta.expected if e.name == t.name), {}
                ),
            }
            for t in meta.outputs
        ],
        "tolerance": {"atol": meta.atol, "rtol": meta.rtol},
    }


def shipment(library: Library, names: Sequence[str]) -> Shipment:
    """Candidates and payload for the reference engines ``names``.

    Raises ``LibraryError`` when a name has no plan, a plan file is unreadable or does
    not match its sha256, and ``PayloadTooLarge`` past ``MAX_PAYLOAD_BYTES``.
    """
    payload = bytearray()
    offsets: dict[str, int] = {}
    references = []
    for name in names:
        plans = library.named(name)
        if not plans:
            raise LibraryError(
                f"no plan named {name!r} in {library.root} (build one: auditor engines build --on HOST --name {name})"
            )
        candidates = []
        for plan in ordered(plans):
            if plan.meta.sha256 not in offsets:
                data = _read(plan)
                if len(payload) + len(data) > MAX_PAYLOAD_BYTES:
                    raise PayloadTooLarge(
                        f"the plans for {', '.join(names)} need more than the {MAX_PAYLOAD_BYTES // 2**20} MiB a "
                        f"probe carries ({plan.meta.id} is {len(data) / 2**20:.1f} MiB); remove plans or build "
                        "smaller ones (version-compatible plans embed the lean runtime)"
                    )
                offsets[plan.meta.sha256] = len(payload)
                payload += data
            candidates.append(candidate(plan, offsets[plan.meta.sha256]))
        references.append({"name": name, "candidates": candidates})
    return Shipment(tuple(references), bytes(payload))


def _read(plan: LibraryPlan) -> bytes:
    try:
        data = plan.path.read_bytes()
    except OSError as exc:
        raise LibraryError(f"cannot read {plan.path}: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != plan.meta.sha256:
        raise LibraryError(f"{plan.path} does not match the sha256 in {plan.meta_path} (auditor engines verify)")
    return data


def check_library(policy: Policy, library: Library) -> None:
    """Every reference a policy requires has plans that can be shipped; else located ``InputErrors``.

    Runs before any host is contacted (exit 2).
    """
    errors = []
    for required in policy.references:
        try:
            shipment(library, [required.name])
        except (LibraryError, PayloadTooLarge) as exc:
            errors.append(InputError(f"reference {required.name!r}: {exc}", required.location))
    if errors:
        raise InputErrors(errors)


def with_engine_library(policy: Policy, library: str | os.PathLike[str] | None) -> Policy:
    """``policy`` knowing its engine library, checked now when it requires reference engines.

    Raises located ``InputErrors`` (exit 2, before any host is contacted) when a required
    reference has no shippable plan in the library.
    """
    if not policy.references:
        return policy
    loaded = load_library(library)
    check_library(policy, loaded)
    return replace(policy, engine_library=str(loaded.root))


def reference_calls(
    policy: Policy, library: Library, budgets: Mapping[str, float] | None = None
) -> Callable[[Host], ProbeCall]:
    """Per-host probe calls: the host's engine templates and reference engines, plans in the program.

    One program per distinct set of names (usually one for the whole fleet), built on
    first use. Call ``check_library`` first to turn a broken library into exit 2.
    """
    cache: dict[tuple[tuple[str, ...], tuple[str, ...], bool], ProbeCall] = {}

    def call(host: Host) -> ProbeCall:
        engines = tuple(policy.engine_templates_for(host))
        names = tuple(policy.references_for(host))
        plugins = policy.plugins_for(host)
        key = (engines, names, plugins)
        if key not in cache:
            if names:
                shipped = shipment(library, names)
                request = encode_request(budgets, engines=engines, reference=shipped.references, plugins=plugins)
                cache[key] = ProbeCall(request, probe_program(shipped.payload))
            else:
                cache[key] = ProbeCall(encode_request(budgets, engines=engines, plugins=plugins))
        return cache[key]

    return call
