"""Ask Ansible itself what an inventory means: run as a script, prints one JSON object.

Usage: ``python tests/ansible_oracle.py '{"sources": [...], "patterns": [...]}' OUT.json``.
Writes ``{"list": <ansible-inventory --list>, "patterns": {pattern: [hosts] | {"error": msg}}}``.
(to a file: Ansible prints its warnings on stdout). The differential tests compare auditor's reading of the same files with this.
"""

from __future__ import annotations

import contextlib
import json
import sys


def main() -> None:
    spec = json.loads(sys.argv[1])
    from ansible.cli.inventory import InventoryCLI
    from ansible.errors import AnsibleError

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
    patterns: dict[str, object] = {}
    for pattern in spec.get("patterns", []):
        try:
            inventory.subset(pattern)
            patterns[pattern] = [host.name for host in inventory.get_hosts("all")]
        except AnsibleError as exc:
            patterns[pattern] = {"error": str(exc).splitlines()[0]}
        finally:
            inventory.subset(None)
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump({"list": listing, "patterns": patterns}, handle)


if __name__ == "__main__":
    main()
