#!/bin/bash
# Records tests/fixtures/real/ on a lent GPU machine (see tests/fixtures/real/README.md).
#
# Needs the TensorRT lean wheels in .whl/ (tensorrt-lean-cu13-libs, -bindings and the
# tensorrt-lean-cu13 frontend, 11.4.0.106, cp312) and writes eight files under $OUT:
# smi.txt, probe.json, probe-plain.json, probe-engines.json, probe-nocuda.json,
# probe-denied.json, raw.txt, timings.json. For a moment it closes /dev/nvidiactl and
# /dev/nvidia0 to other users (mode 600, restored on exit) to record a real
# permission-denied; it changes nothing else on the machine.
set -u
D=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$D/../.." && pwd)
PROBE="$D/probe.py"  # a copy beside this script, else the probe assembled from the repository
[ -f "$PROBE" ] || { PROBE=/tmp/auditor-probe.py; PYTHONPATH="$ROOT" python3 -c 'import sys; from auditor.probe.program import probe_source; sys.stdout.buffer.write(probe_source())' > "$PROBE"; }
WHEELS="$ROOT/.whl"; [ -d "$WHEELS" ] || WHEELS="$D/../.whl"
export PYTHONUNBUFFERED=1
command -v nvcc >/dev/null 2>&1 || export PATH=/usr/local/cuda/bin:$PATH
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl 2>&1 | tail -2
chmod -R a+rX /tmp/site
PY=$(command -v python3)
FIELDS=index,name,uuid,driver_version,compute_cap,memory.total,pci.bus_id,mig.mode.current,ecc.mode.current,persistence_mode,vbios_version
python3 "$D/make_plans.py" /tmp/eng > /dev/null
chmod -R a+rX /tmp/eng
REQ=$(python3 -c 'import base64,json,sys;print(base64.b64encode(json.dumps({"engines":sys.argv[1:]}).encode()).decode())' \
  /tmp/eng/corrupt.plan /tmp/eng/forged.plan /tmp/eng/forged-10.plan /tmp/eng/forged-8.plan /tmp/eng/truncated.plan \
  /tmp/eng/nomagic.plan /tmp/eng/empty.plan /tmp/eng/missing.plan /tmp/eng/wrapped.engine '/tmp/eng/{gpu}/{sm}.plan' '/tmp/eng/cc{cc}.plan')
{
  echo "### date -u"; date -u
  echo "### uname -a"; uname -a
  echo "### id"; id
  echo "### cat /proc/driver/nvidia/version"; cat /proc/driver/nvidia/version
  echo "### nvidia-smi"; nvidia-smi; echo "rc=$?"
  echo "### nvidia-smi -L"; nvidia-smi -L; echo "rc=$?"
  echo "### nvidia-smi --query-gpu=$FIELDS --format=csv"; nvidia-smi --query-gpu=$FIELDS --format=csv; echo "rc=$?"
  echo "### nvidia-smi --query-gpu=$FIELDS --format=csv,noheader,nounits"; nvidia-smi --query-gpu=$FIELDS --format=csv,noheader,nounits; echo "rc=$?"
  echo "### nvidia-smi --query-gpu=index,bogus_field --format=csv,noheader"; nvidia-smi --query-gpu=index,bogus_field --format=csv,noheader; echo "rc=$?"
  echo "### nvidia-smi --version"; nvidia-smi --version; echo "rc=$?"
  echo "### nvcc --version ($(command -v nvcc))"; nvcc --version; echo "rc=$?"
  echo "### python3"; echo "$PY"; python3 --version
  echo "### pip show"; python3 -m pip show nvidia-ml-py nvidia-cudnn-cu13 2>&1 | grep -E '^(Name|Version|Location)'
  echo "### ldconfig -p (NVIDIA)"; ldconfig -p | grep -E 'libnvidia-ml|libcuda\.|libcudart|libcudnn|libnvinfer'
  echo "### ls /usr/local"; ls -la /usr/local | grep -i cuda; ls -la /usr/local/cuda-13.0/compat/ 2>&1 | grep libcuda
  echo "### which docker podman trtexec rpm dpkg"; which docker podman trtexec rpm dpkg
  echo "### ls -la /dev/nvidia*"; ls -la /dev/nvidia0 /dev/nvidiactl /dev/nvidia-uvm
  echo "### /etc/os-release"; cat /etc/os-release
  PYN=$PY; runuser -u nobody -- test -x "$PY" || PYN=/usr/bin/python3
  echo "### python for nobody: $PYN"
  trap 'chmod 666 /dev/nvidiactl /dev/nvidia0' EXIT
  chmod 600 /dev/nvidiactl /dev/nvidia0
  echo "### as nobody, /dev/nvidiactl and /dev/nvidia0 mode 600: nvidia-smi"; runuser -u nobody -- nvidia-smi; echo "rc=$?"
  echo "### as nobody: nvidia-smi --query-gpu=index,driver_version --format=csv,noheader"
  runuser -u nobody -- nvidia-smi --query-gpu=index,driver_version --format=csv,noheader; echo "rc=$?"
  echo "### as nobody: pynvml.nvmlInit()"; runuser -u nobody -- env PYTHONPATH=/tmp/site "$PYN" -c 'import pynvml as n
try:
    n.nvmlInit(); print("ok")
except n.NVMLError as e:
    print("NVMLError", e.value, e)'
  runuser -u nobody -- env PYTHONPATH=/tmp/site "$PYN" - < "$PROBE" > "$OUT/probe-denied.json" 2>"$OUT/stderr-denied.txt"
  chmod 666 /dev/nvidiactl /dev/nvidia0; trap - EXIT
  echo "### restored"; ls -la /dev/nvidia0 /dev/nvidiactl; nvidia-smi -L
  echo "### nvidia-smi -q"; nvidia-smi -q
} > "$OUT/smi.txt" 2>&1
export PYTHONPATH=/tmp/site
python3 - < "$PROBE" > "$OUT/probe.json" 2>>"$OUT/stderr.txt"
python3 - --request="$REQ" < "$PROBE" > "$OUT/probe-engines.json" 2>>"$OUT/stderr.txt"
CUDA_VISIBLE_DEVICES=-1 python3 - --request="$REQ" < "$PROBE" > "$OUT/probe-nocuda.json" 2>>"$OUT/stderr.txt"
(unset PYTHONPATH; python3 - < "$PROBE" > "$OUT/probe-plain.json" 2>>"$OUT/stderr.txt")
{
  cp "$PROBE" /tmp/probe.py && cp "$D"/*.py /tmp/ && python3 /tmp/raw_lean.py /tmp/eng
  echo "### check against nvidia-smi"
  python3 "$D/check.py" "$OUT/probe.json" "$OUT/probe-engines.json"
  echo "### probe stderr"; cat "$OUT/stderr-denied.txt" "$OUT/stderr.txt"
} > "$OUT/raw.txt" 2>&1
rm -f "$OUT/stderr.txt" "$OUT/stderr-denied.txt"
python3 "$D/timing.py" "$PROBE" /tmp/eng/forged.plan > "$OUT/timings.json" 2>>"$OUT/raw.txt"
grep -E "^(DIFF|ERROR|### [0-9]+ differences)" "$OUT/raw.txt"
python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(json.dumps(d['summary']), d['ratio_probe_lean_to_baseline'])" "$OUT/timings.json"
