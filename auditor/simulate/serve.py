"""Serve a simulated fleet from a process of its own, for benchmarks and trying things by hand.

    python -m auditor.simulate.serve --hosts 1000 --out DIR     # 1000 identical T4 nodes
    python -m auditor.simulate.serve --fleet FLEET.yaml --out DIR

Writes into ``DIR`` what any SSH client needs to reach the fleet, then ``ready``
last: ``inventory.yaml`` (an Ansible inventory: ``ansible_host``, ``ansible_port``,
``ansible_user``, ``ansible_ssh_private_key_file``), ``known_hosts`` with every
host's key, ``client_key`` (mode 0600) and ``hosts.json`` (``[[name, address,
port], ...]``). Serves until SIGTERM or SIGINT. Keeping the servers out of the
client's process lets a benchmark count the client's CPU alone; ``--replay-probes S``
lets each host run the probe once and answer later runs of the same request with that
output, S seconds after the request (a real host's probe time), so the simulated hosts
stop competing with the client for the machine's CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import yaml

from auditor.simulate.fleet import Fleet, GpuSpec, SimHost, load_fleet
from auditor.simulate.server import SimulatedFleet


def uniform_fleet(count: int) -> Fleet:
    """``count`` identical, compliant single-T4 nodes named ``sim-00001``...."""
    hosts = tuple(
        SimHost(
            name=f"sim-{index:05d}",
            groups=("bench",),
            gpus=(GpuSpec("Tesla T4", 1, "7.5"),),
            driver="580.95.05",  # R580 LTSB with CUDA 13.0 Update 2: compliant under the built-in checks
            cuda_toolkits=("13.0.2",),
            cudnn="9.14.0",
            tensorrt="10.13.3.9",
            python_tensorrt="10.13.3.9",
        )
        for index in range(1, count + 1)
    )
    return Fleet(name=f"uniform-{count}", source="<generated>", hosts=hosts)


async def serve(fleet: Fleet, out: Path, stop: asyncio.Event, replay_probes: float | None = None) -> None:
    """Start ``fleet``, describe it in ``out``, and serve until ``stop`` is set (``SimulatedFleet``'s ``replay_probes``)."""
    out.mkdir(parents=True, exist_ok=True)
    async with SimulatedFleet(fleet, workdir=out / "sim", replay_probes=replay_probes) as sim:
        key_path = out / "client_key"
        sim.client_key.write_private_key(str(key_path))
        os.chmod(key_path, 0o600)
        (out / "known_hosts").write_text(sim.known_hosts_path.read_text())
        hosts = {
            host.name: {"ansible_host": host.address, "ansible_port": host.port}
            for host in sim.hosts
            if host.port is not None
        }
        inventory = {
            "all": {"vars": {"ansible_user": "auditor", "ansible_ssh_private_key_file": str(key_path)}, "hosts": hosts}
        }
        (out / "inventory.yaml").write_text(yaml.safe_dump(inventory, sort_keys=False))
        (out / "hosts.json").write_text(json.dumps([[h.name, h.address, h.port] for h in sim.hosts]))
        (out / "ready").write_text(json.dumps({"hosts": len(sim.hosts), "pid": os.getpid()}))
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auditor.simulate.serve", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--hosts", type=int, metavar="N", help="serve N identical compliant nodes")
    source.add_argument("--fleet", metavar="FLEET", help="serve a fleet file (auditor.fleet/1)")
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write the inventory, keys and ready")
    parser.add_argument(
        "--replay-probes",
        type=float,
        metavar="S",
        help="a host answers a probe request it answered before with the same output, S seconds after it, without"
        " running the probe again (benchmarks: the client's CPU, not the simulated hosts', on a small machine)",
    )
    args = parser.parse_args(argv)
    fleet = uniform_fleet(args.hosts) if args.hosts else load_fleet(args.fleet)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(fleet, Path(args.out), stop, args.replay_probes)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
