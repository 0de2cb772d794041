"""The target of a plan: a policy stack (``--to STACK``), ``--set`` versions, or a stack with overrides.

From a stack, each component's bounds come along, and the version a host off
those bounds moves to is the stack's ``target``, else its pin (``version``), else
the newest ``allow``ed version; a component with only a floor or a ceiling names
no version, and a host outside it is blocked (``unpinned``) rather than given a
version the policy never wrote. ``--set component=version`` names exact versions
(matched as a prefix: ``cuda=12.2`` admits 12.2.2) and replaces the stack's bounds
for that component. ``image`` names an NGC TensorRT container: see ``host`` for
what it asks of a host. Components the target leaves out are never changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from auditor import versions
from auditor.errors import InputError, InputErrors
from auditor.knowledge import tensorrt as trt_kb
from auditor.plan.model import COMPONENTS, SET_COMPONENTS, ComponentTarget, Target
from auditor.policy.model import Bounds, Policy, Stack
from auditor.yamlsrc import did_you_mean


def stack_target(policy: Policy, name: str) -> Target:
    """The target a policy stack describes; ``InputError`` (with did-you-mean) for an unknown name."""
    stack = next((s for s in policy.stacks if s.name == name), None)
    if stack is None:
        names = [s.name for s in policy.stacks]
        hint = did_you_mean(name, names) or (
            f"; defined: {', '.join(names)}" if names else "; the policy has no stacks"
        )
        raise InputError(f"--to: unknown stack {name!r}{hint}")
    return Target(
        name=stack.name,
        components=tuple(_component(stack, b) for b in stack.bounds if b.component in COMPONENTS),
        image=stack.image,
        image_source=str(stack.image_location or stack.location) if stack.image else None,
        engines=stack.engines,
        description=stack.description,
        stack=stack.name,
    )


def _component(stack: Stack, bounds: Bounds) -> ComponentTarget:
    if bounds.target:
        version, key = bounds.target, "target"
    elif bounds.version:
        version, key = bounds.version, "version"
    elif bounds.allow:
        version, key = max(bounds.allow, key=versions.parse), "allow"
    else:
        version, key = None, "component"
    return ComponentTarget(bounds.component, version, f"stack {stack.name} at {bounds.cite(key)}", bounds)


def parse_settings(settings: Sequence[str]) -> dict[str, str]:
    """``["driver=580.95.05", "image=nvcr.io/nvidia/tensorrt:25.10-py3"]`` -> a dict; every problem at once."""
    errors: list[InputError] = []
    found: dict[str, str] = {}
    for text in settings:
        component, sep, value = text.partition("=")
        component, value = component.strip().lower(), value.strip()
        if not sep or not value:
            errors.append(InputError(f"--set {text}: expected component=version (e.g. driver=580.95.05)"))
            continue
        if component not in SET_COMPONENTS:
            hint = did_you_mean(component, SET_COMPONENTS) or f" (choose from {', '.join(SET_COMPONENTS)})"
            errors.append(InputError(f"--set {text}: unknown component {component!r}{hint}"))
            continue
        if component in found and found[component] != value:
            errors.append(InputError(f"--set {text}: {component} is already set to {found[component]}"))
            continue
        if component == "image":
            try:
                trt_kb.parse_image(value)
            except trt_kb.BadImage as exc:
                errors.append(InputError(f"--set {text}: {exc}"))
                continue
        elif not versions.is_version(value):
            errors.append(InputError(f"--set {text}: not a version: {value!r} (expected dotted numbers like 12.2)"))
            continue
        found[component] = value
    if errors:
        raise InputErrors(errors)
    return found


def build_target(policy: Policy, stack: str | None, settings: Sequence[str]) -> Target:
    """The target ``--to`` and ``--set`` describe together (``--set`` wins per component)."""
    values = parse_settings(settings)
    if stack is None and not values:
        raise InputError("name a target: --to STACK (a stack of the policy) or --set component=version")
    base = stack_target(policy, stack) if stack is not None else Target(name="--set")
    if not values:
        return base
    components = {c.component: c for c in base.components}
    for component, value in values.items():
        if component != "image":
            components[component] = ComponentTarget(component, value, f"--set {component}={value}")
    name = (
        f"{base.name} with --set" if stack is not None else "--set " + " ".join(f"{k}={v}" for k, v in values.items())
    )
    ordered = tuple(components[c] for c in COMPONENTS if c in components)
    image = values.get("image", base.image)
    return replace(
        base,
        name=name,
        components=ordered,
        image=image,
        image_source=f"--set image={image}" if "image" in values else base.image_source,
    )
