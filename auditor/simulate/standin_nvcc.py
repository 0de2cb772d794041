"""Stand-in ``nvcc`` for simulated toolkits: ``nvcc --version`` in the layout the real one prints.

Copied into ``usr/local/cuda-X.Y/bin/nvcc`` with its version set in ``NVCC_VERSION``
above this text (like the real one, it reads nothing from the toolkit's files). The
layout is the one recorded from CUDA 13.0 on an H200 (tests/fixtures/real/smi.txt).
"""

import sys


def version():
    return str(globals().get("NVCC_VERSION", "0.0.0"))


def main(argv):
    if "--version" not in argv and "-V" not in argv:
        sys.stderr.write("nvcc fatal   : No input files specified; use option --help for more information\n")
        return 1
    full = version()
    major_minor = ".".join(full.split(".")[:2])
    print("nvcc: NVIDIA (R) Cuda compiler driver")
    print("Copyright (c) 2005-2025 NVIDIA Corporation")
    print("Built on Wed_Aug_20_01:58:59_PM_PDT_2025")
    print(f"Cuda compilation tools, release {major_minor}, V{full}")
    print(f"Build cuda_{major_minor}.r{major_minor}/compiler.36424714_0")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
