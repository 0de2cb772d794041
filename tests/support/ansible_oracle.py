"""Ask Ansible itself what an inventory means: run as a script, prints one JSON object.

Usage: ``python tests/support/ansible_oracle.py '{"sources": [...], "patterns": [...]}' OUT.json``.
Writes ``{"list": <ansible-inventory --list>, "patterns": {pattern: {"split": [...], "hosts": [...]}}}``
(``"error": msg`` instead of ``"hosts"`` when Ansible refuses the pattern or crashes on it)
(to a file: Ansible prints its warnings on stdout). The differential tests compare auditor's reading of the same files with this.
"""

from __future__ import annotations

import contextlib
import json
import sys


def main() -> None:
    spec = json.loads(sys.argv[1])
    from ansible.cli.inventory import InventoryCLI
    from ansible.inventory.manager import split_host_pattern

    args = ["ansible-inventory"]
    for source in spec["sources"]:
        args += ["-i", source]
    listing_path = sys.argv[2] + ".list"
    cli = InventoryCLI([*args, "--list", "--output", listing_path])
    cli.parse()
    with contextlib.suppress(SystemExit):  # the CLI exits once it has written its output
        cli.run()
    with open(listing_path, encoding="utf-8") as handle:
        listing = json.load(handle)
    inventory = cli.inventory
    patterns: dict[str, dict[str, object]] = {}
    for pattern in spec.get("patterns", []):
        answer: dict[str, object] = {"split": split_host_pattern(pattern)}
        try:
            inventory.subset(pattern)
            answer["hosts"] = [host.name for host in inventory.get_hosts("all")]
        except Exception as exc:  # AnsibleError, or a crash (IndexError on a bare '!'): both refuse the pattern
            answer["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            inventory.subset(None)
        patterns[pattern] = answer
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump({"list": listing, "patterns": patterns}, handle)


if __name__ == "__main__":
    main()
