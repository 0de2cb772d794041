"""Rule check ``<rule>/plugins``: the TensorRT plugins a rule requires are registered on the host.

The probe imports each TensorRT Python module in a child, loads NVIDIA's standard plugin
library where the module can (``init_libnvinfer_plugins``), and lists the registry's creators
(name, version, namespace). A required plugin no module registers is a finding that names the
library to install or load (``auditor.knowledge.plugins``): ``libnvinfer_plugin.so.<major>``
(package ``libnvinfer-plugin<major>``) for NVIDIA's standard plugins, which the lean and
dispatch runtimes do not ship. A plugin NVIDIA does not ship is the site's own: the probe
loads no site library, so whether one provides it is inconclusive, never a pass. No
TensorRT Python module, or a registry that could not be listed, is inconclusive too.
"""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import Check, Run, inconclusive, sentence
from auditor.facts.model import PluginRegistry, TensorRTModule
from auditor.findings import Action, Finding, Severity
from auditor.knowledge.plugins import plugin_home
from auditor.policy.model import RequiredPlugin


def plugins(run: Run) -> None:
    """One check per required plugin: registered by some listed module, or a finding naming its library."""
    rule, facts = run.asking, run.facts
    name = f"{rule.id}/plugins"
    listed = [(m, m.plugins) for m in facts.tensorrt.modules if m.plugins is not None and not m.plugins.error]
    failed = [m for m in facts.tensorrt.modules if m.plugins is not None and m.plugins.error]
    major = _major(facts.tensorrt.version)
    run.checks.extend(f"{name}:{plugin.name}" for plugin in rule.plugins)
    if not listed:
        if failed:
            why = "; ".join(f"{m.module}: {m.plugins.error}" for m in failed if m.plugins)
        elif any(m.error is None for m in facts.tensorrt.modules):
            why = "the probe did not list it (facts from a probe or a run that did not ask)"
        else:
            why = "no TensorRT Python module was imported on the host (the registry is listed through one)"
        wanted = ", ".join(p.name for p in rule.plugins)
        run.findings.append(
            inconclusive(
                name,
                f"whether {wanted} are registered: the plugin registry could not be listed: {why}",
                str(rule.plugins[0].location),
            )
        )
        return
    for plugin in rule.plugins:
        if any(registry.has(plugin.name) for _, registry in listed):
            continue
        run.findings.append(_missing(name, plugin, listed, major))


def _missing(
    name: str, plugin: RequiredPlugin, listed: list[tuple[TensorRTModule, PluginRegistry]], major: int | None
) -> Finding:
    modules = ", ".join(f"{m.module} {m.version or ''}".strip() for m, _ in listed)
    held = "; ".join(f"{m.module}: {len(r.creators)} creators" for m, r in listed)
    home = plugin_home(plugin.name, major)
    where = str(plugin.location)
    if home is None:
        return inconclusive(
            name,
            f"{plugin.name} is not registered ({held}), and NVIDIA ships no plugin of that "
            "name: it comes from a site library the probe does not load, so whether the host has it was not checked",
            where,
        )
    no_loader = all(r.library is None for _, r in listed)
    how = (
        f"the lean and dispatch runtimes ({modules}) ship no {home.library}: install {home.package} and load it"
        if no_loader
        else f"install {home.package} ({home.library}) and load it"
    )
    return Finding(
        rule=name,
        severity=Severity.HIGH,
        action=Action.UPGRADE,
        message=f"TensorRT plugin {plugin.name} is not registered ({held}); it ships in {home.library}",
        expected=f"{plugin.name} in the plugin registry ({home.library})",
        actual="not registered",
        source=f"{where}; {home.source}",
        remediation=sentence(f"{how}: {home.load}"),
    )


def _major(version: str | None) -> int | None:
    if version and versions.is_version(version):
        return versions.parse(version).release[0]
    return None


CHECK = Check(id="plugins", reads=("tensorrt",), judge=plugins, asks=lambda rule: bool(rule.plugins))
