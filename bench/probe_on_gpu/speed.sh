#!/bin/bash
# The probe against the classic bash health check on a lent GPU machine, before and after, in one run:
#
#   bash bench/probe_on_gpu/speed.sh OUTDIR
#
# Needs the TensorRT lean wheels (tensorrt-lean-cu13-libs, -bindings and the tensorrt-lean-cu13
# frontend, 11.4.0.106, cp312) in $WHEELS (default: .whl/ at the repository root). Fetched here, once:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp #     --platform manylinux_2_28_x86_64 -d .whl tensorrt-lean-cu13-libs==11.4.0.106 tensorrt-lean-cu13-bindings==11.4.0.106
#   python3 -m pip download --no-deps --no-binary=:all: -d /tmp/sdist tensorrt-lean-cu13==11.4.0.106
#   (unpack it; in a venv with setuptools and wheel) pip wheel --no-deps --no-build-isolation -w .whl /tmp/sdist/tensorrt_lean_cu13-11.4.0.106
# The device tool carries .whl/ when `carry` names it. "before" is probe-before.txt beside this script (the probe
# main shipped before issue 16, commit db96760, assembled); "after" is assembled from this checkout.
# Writes under OUTDIR: speed.json, speed.txt (the table), facts-before.json, facts-after.json,
# engines-before.json, engines-after.json, and check.txt (every fact of "after" checked against
# nvidia-smi and the system's own tools by check.py). Changes nothing on the machine but /tmp.
set -u
OUT=${1:?usage: speed.sh OUTDIR}
D=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$D/../.." && pwd)
WHEELS=${WHEELS:-$ROOT/.whl}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
command -v nvcc >/dev/null 2>&1 || export PATH=/usr/local/cuda/bin:$PATH
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl 2>&1 | tail -2
AFTER=/tmp/auditor-probe-after.py
PYTHONPATH="$ROOT" python3 -c 'import sys; from auditor.probe.program import probe_source; sys.stdout.buffer.write(probe_source())' > "$AFTER" || exit 1
python3 "$D/make_plans.py" /tmp/eng > /dev/null || exit 1
export PYTHONPATH=/tmp/site
python3 "$D/speed.py" --before "$D/probe-before.txt" --after "$AFTER" --plan /tmp/eng/forged.plan --out "$OUT" "${@:2}" | tee "$OUT/speed.txt"
python3 "$D/check.py" "$OUT/facts-after.json" "$OUT/engines-after.json" > "$OUT/check.txt" 2>&1
grep -E "^(DIFF|ERROR|### [0-9]+ differences)" "$OUT/check.txt"
