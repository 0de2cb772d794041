#!/bin/bash
# Records tests/fixtures/real/reference-*.json and cuda.json on a lent GPU machine.
#
# Needs the TensorRT lean wheels in .whl/ at the repository root (as bench/probe_on_gpu/record.sh)
# and, beside this script, probe.py (the assembled probe) and builder.py (auditor/probe/remote/children/builder.py),
# else it assembles them from the repository. Writes under $OUT:
# cuda.json, cuda.txt, reference-lean.json, reference-plain.json, build-lean.json, timings.json, run.txt.
set -u
D=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$D/../.." && pwd)
PROBE="$D/probe.py"  # a copy beside this script, else the probe assembled from the repository
[ -f "$PROBE" ] || { PROBE=/tmp/auditor-probe.py; PYTHONPATH="$ROOT" python3 -c 'import sys; from auditor.probe.program import probe_source; sys.stdout.buffer.write(probe_source())' > "$PROBE"; }
BUILDER="$D/builder.py"; [ -f "$BUILDER" ] || BUILDER="$ROOT/auditor/probe/remote/children/builder.py"
WHEELS="$ROOT/.whl"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl 2>&1 | tail -2
{ date -u; uname -r; nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv; command -v python3; python3 --version; } > "$OUT/cuda.txt" 2>&1
PYTHONPATH=/tmp/site python3 "$D/cuda_check.py" "$PROBE" "$OUT/cuda.json" >> "$OUT/cuda.txt" 2>&1
cat "$OUT/cuda.txt"
PYTHONPATH=/tmp/site python3 "$D/make_reference.py" "$PROBE" "$BUILDER" "$OUT"
