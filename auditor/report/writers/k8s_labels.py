"""The report as Kubernetes node labels: a POSIX shell script of ``kubectl label node NAME --overwrite KEY=VALUE...``.

One command per audited host (the node is named as the host: an inventory whose names are
the nodes' names, or ``report --local --name "$NODE_NAME"``), with GPU Feature Discovery's
label names and the auditor's own (``auditor.report.scheduling``). Every value and node name
is checked against Kubernetes' rules first; what does not fit is a comment line saying why,
so nothing host-supplied reaches the shell but ``[A-Za-z0-9._-]`` (comments are cleaned of
line breaks: ``auditor.text``). ``$KUBECTL`` replaces the ``kubectl`` command (a context, a
wrapper); a node that cannot be labelled makes the script exit 1 after trying the others.
"""

from __future__ import annotations

import shlex

from auditor.report.model import Report
from auditor.report.scheduling import node_labels, run_notes, valid_node_name
from auditor.text import clean


def render_k8s_labels(report: Report) -> str:
    """The script for every host of ``report`` (a host the auditor could not audit gets its verdict only)."""
    lines = [
        "#!/bin/sh",
        f"# Kubernetes node labels from auditor's audit of {clean(report.inventory, 200)} at {report.generated_at}",
        f"# policy {clean(report.policy, 200)}; {report.knowledge.line()}",
        "# GPU Feature Discovery's label names (nvidia.com/...), the auditor's own under auditor/.",
        "# Run it with kubectl configured for the cluster; KUBECTL=... replaces the command.",
    ]
    lines += [f"# {line}" for line in run_notes(report)]
    lines.append("status=0")
    for host in report.hosts:
        name = clean(host.name, 300)
        if not valid_node_name(host.name):
            lines.append(f"# {name}: not labelled: not a valid Kubernetes node name (lowercase RFC 1123 subdomain)")
            continue
        labels, rejected = node_labels(host, report.generated_at)
        for key in rejected:
            lines.append(f"# {name}: {key.label} not labelled: {clean(key.value, 80)!r} is not a valid label value")
        pairs = " \\\n  ".join(shlex.quote(f"{key.label}={key.value}") for key in labels)
        lines.append(
            f'"${{KUBECTL:-kubectl}}" label node {shlex.quote(host.name)} --overwrite \\\n  {pairs} || status=1'
        )
    lines.append('exit "$status"')
    return "\n".join(lines) + "\n"
