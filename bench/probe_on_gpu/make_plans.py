"""Plan files for the real test-load: corrupt, forged headers, truncated, wrapped, empty (run on the GPU machine)."""

from __future__ import annotations

import json
import os
import random
import struct
import sys

GPU_SLUGS = ("nvidia-h100-80gb-hbm3", "nvidia-h200")


def header(version: tuple[int, int, int, int]) -> bytes:
    """docs/research/tensorrt-compat.md 1.8: "ftrt", uint32 0, 16 undocumented bytes, major minor patch build."""
    return b"ftrt" + struct.pack("<I", 0) + bytes(16) + bytes(version)


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261121)  # noqa: S311 - filler bytes, not secrets
    body = bytes(rng.getrandbits(8) for _ in range(64 * 1024))
    meta = json.dumps({"description": "Ultralytics-style prefix", "imgsz": [640, 640]}).encode()
    plans = {
        "corrupt.plan": b"ftrt" + body,  # the tag, then noise
        "forged.plan": header((11, 4, 0, 106)) + body,  # claims the runtime's own version
        "forged-10.plan": header((10, 13, 3, 9)) + body,  # claims an older major
        "forged-8.plan": header((8, 6, 1, 6)) + body,  # claims TensorRT 8.6
        "truncated.plan": header((11, 4, 0, 106)),  # the header alone
        "nomagic.plan": body,  # not a plan at all
        "empty.plan": b"",
        "wrapped.engine": struct.pack("<I", len(meta)) + meta + header((11, 4, 0, 106)) + body,
        "cc9.0.plan": header((11, 4, 0, 106)) + body,
    }
    plans.update({f"{slug}/sm90.plan": header((11, 4, 0, 106)) + body for slug in GPU_SLUGS})
    for name, data in plans.items():
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    print("plans in", out, sorted(os.listdir(out)))


if __name__ == "__main__":
    main(sys.argv[1])
