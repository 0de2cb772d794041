"""Stand-in NVIDIA Container Toolkit programs for simulated hosts: ``nvidia-ctk``, ``nvidia-container-runtime``,
``nvidia-container-runtime-hook`` and ``nvidia-container-cli``, told apart by the name they are called by.

``VERSION`` is set in the line before this source (``auditor.simulate.runtimes``). ``nvidia-ctk
--version`` prints what the real 1.17.8 printed (tests/fixtures/real/workflows/container/ctk-version.out);
``nvidia-container-cli --version`` prints the layout of public reports
(nvidia-container-cli-version.SYNTHESIZED.txt: not recorded, see docs/research/workflows.md,
section C). The other programs answer ``--version`` with one line and refuse everything else:
the probe only looks for them.
"""

import os
import sys

VERSION = globals().get("VERSION", "1.17.8")


def main(argv):
    name = os.path.basename(sys.argv[0])
    if argv[:1] != ["--version"]:
        sys.stderr.write(f"{name}: the simulated toolkit answers --version only\n")
        return 1
    if name == "nvidia-ctk":
        print(f"NVIDIA Container Toolkit CLI version {VERSION}")
    elif name == "nvidia-container-cli":
        print(f"cli-version: {VERSION}\nlib-version: {VERSION}\nbuild platform: x86_64")
    else:
        print(f"{name} version {VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
