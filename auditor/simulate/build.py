"""Write simulated hosts' fixture roots to a directory, for ``auditor probe --local --root`` and
``auditor report --local --root`` (a mounted image, a node-local gate tried without a GPU).

    python -m auditor.simulate.build FLEET.yaml --out DIR [--host NAME]...

Each host of the fleet file (``auditor.fleet/1``), or only the ``--host`` ones, becomes
``DIR/<name>``: the tree the probe reads on that simulated host, stand-in ``nvidia-smi``,
``docker`` and toolkit programs included (``auditor.simulate.roots``). Exit 2 for a fleet
file that does not validate or a host it does not have.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from auditor.errors import InputError
from auditor.simulate.fleet import load_fleet
from auditor.simulate.roots import build_root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auditor.simulate.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("fleet", help="a fleet file (auditor.fleet/1)")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the roots go (created)")
    parser.add_argument("--host", action="append", metavar="NAME", help="only this host (repeatable)")
    args = parser.parse_args(argv)
    try:
        fleet = load_fleet(args.fleet)
    except InputError as error:
        for problem in error.problems:
            print(f"auditor: {problem}", file=sys.stderr)
        return 2
    hosts = {h.name: h for h in fleet.hosts}
    unknown = [name for name in args.host or () if name not in hosts]
    if unknown:
        print(f"auditor: {args.fleet} has no host {unknown[0]!r}", file=sys.stderr)
        return 2
    for name in args.host or list(hosts):
        print(build_root(hosts[name], Path(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
