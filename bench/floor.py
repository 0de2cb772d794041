"""The floor: bare asyncssh doing what an audit must do at least, nothing else.

    python bench/floor.py DIR --forks F

For every host of a fleet served by ``python -m auditor.simulate.serve --out DIR``:
connect (known_hosts parsed once, the key loaded once), run the same command the
auditor runs with the same probe on stdin, read all output, close. No inventory,
no parsing, no evaluation. Prints ``{"hosts": N, "ok": N}`` on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import asyncssh

from auditor.probe.program import ProbeCall, remote_command
from auditor.probe.request import encode_request


async def run(directory: Path, forks: int) -> dict[str, int]:
    hosts = json.loads((directory / "hosts.json").read_text())
    known_hosts = asyncssh.read_known_hosts(str(directory / "known_hosts"))
    key = asyncssh.read_private_key(str(directory / "client_key"))
    request = encode_request()
    command = remote_command(request)
    source = ProbeCall(request).source  # the bytes the auditor sends: the probe compressed (shipped_probe)
    slots = asyncio.Semaphore(forks)

    async def one(address: str, port: int) -> bool:
        async with slots:
            try:
                async with asyncssh.connect(
                    address,
                    port,
                    username="auditor",
                    client_keys=[key],
                    known_hosts=known_hosts,
                    config=None,
                    agent_path=None,
                ) as conn:
                    result = await conn.run(command, input=source, encoding=None)
                    return result.exit_status == 0 and bytes(result.stdout or b"").startswith(b"{")
            except (OSError, asyncssh.Error):
                return False

    results = await asyncio.gather(*(one(address, port) for _, address, port in hosts))
    return {"hosts": len(hosts), "ok": sum(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--forks", type=int, default=64)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.directory, args.forks))))


if __name__ == "__main__":
    main()
