"""Stand-in ``apt-cache`` for simulated hosts: ``policy NAME...`` as apt 2.6 prints it.

Copied into ``usr/bin/apt-cache``; reads ``usr/share/auditor-sim/apt.json``
(``{"packages": {name: {"installed": version or null, "versions": [{"version", "priority",
"sources"}]}}}``), which ``auditor.simulate.roots`` writes from the same data as the root's real
apt files (``/var/lib/dpkg/status``, ``/var/lib/apt/lists``, ``/etc/apt/preferences.d``), so
that real apt pointed at the root (as the playbook tests do) and this stand-in agree. The
layout is apt's (tests/fixtures/real/workflows/apt/apt-cache-policy.out): the installed version
marked ``***``, each version's pin priority after it, its sources indented below, dpkg's
status file as the installed version's last source; names apt does not know print nothing.
``-o KEY=VALUE`` options are accepted and ignored.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "share", "auditor-sim", "apt.json")) as handle:
    STATE = json.load(handle)

STATUS = "/var/lib/dpkg/status"


def policy(name):
    """The lines ``apt-cache policy NAME`` prints for one package (none for a name apt does not know)."""
    entry = STATE.get("packages", {}).get(name)
    if entry is None:
        return []
    installed = entry.get("installed")
    rows = list(entry.get("versions", []))
    if installed and not any(row["version"] == installed for row in rows):
        rows.append({"version": installed, "priority": 100, "sources": []})
    candidate = max(rows, key=lambda row: row["priority"])["version"] if rows else None
    lines = [
        f"{name}:",
        f"  Installed: {installed or '(none)'}",
        f"  Candidate: {candidate or '(none)'}",
        "  Version table:",
    ]
    for row in rows:
        mark = "***" if row["version"] == installed else "   "
        lines.append(f" {mark} {row['version']} {row['priority']}")
        for source in row["sources"]:
            lines.append(f"        500 {source}")
        if row["version"] == installed:
            lines.append(f"        100 {STATUS}")
    return lines


def main(argv):
    args, index = [], 0
    while index < len(argv):
        if argv[index] == "-o":
            index += 2
            continue
        args.append(argv[index])
        index += 1
    if not args or args[0] != "policy":
        sys.stderr.write("E: the simulated apt-cache knows only 'policy NAME...'\n")
        return 100
    for name in args[1:]:
        for line in policy(name):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
