#!/bin/bash
# Records, on a lent GPU machine, what issue 15's collectors would read there: the package
# manager's view of NVIDIA/CUDA packages, MIG state (nvidia-smi and NVML), the container
# toolkit and runtimes, and TensorRT's plugin registry through the lean runtime.
# Writes host.txt, mig.txt and plugins.txt under $OUT; changes nothing on the machine
# (only installs the carried wheels under /tmp/site). Run from the repository root:
#   bash PATH/TO/record.sh WHEELS_DIR       (wheels: tensorrt-lean-cu13-libs and -bindings 11.4.0.106, cp312)
set -u
D=$(cd "$(dirname "$0")" && pwd)
WHEELS=${1:-.whl/i15}
export PYTHONUNBUFFERED=1 LC_ALL=C
TIMEFORMAT='seconds=%R'
run() {  # run TITLE COMMAND...: a header, the output, the exit status and the wall time
  echo "### $1"; shift
  time { "$@"; echo "rc=$?"; }
}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl 2>&1 | tail -2
NV="nvidia-* libnvidia-* cuda-* libcuda* libcudnn* cudnn* libnvinfer* tensorrt* libcublas* libnccl* nsight-* datacenter-gpu-manager*"
{
  run "date -u" date -u
  run "uname -a" uname -a
  run "id" id
  run "/etc/os-release" cat /etc/os-release
  echo "### command -v"
  for c in dpkg dpkg-query apt apt-get apt-cache apt-mark rpm dnf yum microdnf docker dockerd containerd ctr nerdctl podman crictl kubectl \
    nvidia-ctk nvidia-container-cli nvidia-container-runtime nvidia-container-runtime-hook nvidia-cdi-hook runc nvidia-smi nvidia-persistenced; do
    printf '%s\t%s\n' "$c" "$(command -v "$c" || echo -)"
  done
  [ -n "${KUBERNETES_SERVICE_HOST:-}" ] && echo "KUBERNETES_SERVICE_HOST is set" || echo "KUBERNETES_SERVICE_HOST not set"
  set -f
  run "dpkg-query -W -f='\${Package}\t\${Version}\t\${Status}\n' $NV" dpkg-query -W -f='${Package}\t${Version}\t${Status}\n' $NV
  set +f
  run "dpkg-query -W -f='\${db:Status-Abbrev}\t\${Package}\t\${Version}\n' 'libcudnn*' 'libnccl*' 'libcublas*' 'cuda-compat*'" \
    dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Version}\n' 'libcudnn*' 'libnccl*' 'libcublas*' 'cuda-compat*'
  run "dpkg -l 'libcudnn*' 'libnccl*' 'cuda-compat*'" dpkg -l 'libcudnn*' 'libnccl*' 'cuda-compat*'
  run "dpkg-query -W | wc -l (all packages)" sh -c 'dpkg-query -W | wc -l'
  run "apt-mark showhold" apt-mark showhold
  run "ls /etc/apt/sources.list.d /etc/apt/preferences.d" ls -la /etc/apt/sources.list.d /etc/apt/preferences.d
  run "sources (credentials in URLs masked)" sh -c 'for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do [ -f "$f" ] && { echo "## $f"; sed -E "s#://[^/@ ]+@#://***@#g" "$f"; }; done'
  run "preferences" sh -c 'for f in /etc/apt/preferences /etc/apt/preferences.d/*; do [ -f "$f" ] && { echo "## $f"; cat "$f"; }; done'
  run "ls /var/lib/apt/lists | wc -l; head" sh -c 'ls /var/lib/apt/lists | wc -l; ls /var/lib/apt/lists | head -20'
  run "ls /var/cache/apt/archives (NVIDIA names)" sh -c 'ls /var/cache/apt/archives | grep -E "nvidia|cuda|cudnn|nvinfer|tensorrt" | head -40; ls /var/cache/apt/archives | wc -l'
  PKGS=$(dpkg-query -W -f='${Package}\n' 'nvidia-*' 'libnvidia-*' 'cuda-*' 'libcudnn*' 'cudnn*' 'libnvinfer*' 'tensorrt*' 'libnccl*' 2>/dev/null | head -25 | tr '\n' ' ')
  run "apt-cache policy $PKGS" apt-cache policy $PKGS
  run "apt-cache madison $PKGS" apt-cache madison $PKGS
  run "apt-cache policy (no argument)" sh -c 'apt-cache policy | head -60'
  run "nvidia-smi --query-gpu=name,mig.mode.current,mig.mode.pending --format=csv" nvidia-smi --query-gpu=name,mig.mode.current,mig.mode.pending --format=csv
  run "nvidia-smi --query-gpu=name,mig.mode.current,mig.mode.pending --format=csv,noheader,nounits" nvidia-smi --query-gpu=name,mig.mode.current,mig.mode.pending --format=csv,noheader,nounits
  run "nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total,pci.device_id,pci.sub_device_id,count --format=csv,noheader" \
    nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total,pci.device_id,pci.sub_device_id,count --format=csv,noheader
  run "nvidia-smi -L" nvidia-smi -L
  run "nvidia-smi mig -lgip" nvidia-smi mig -lgip
  run "nvidia-smi mig -lgipp" nvidia-smi mig -lgipp
  run "nvidia-smi mig -lgi" nvidia-smi mig -lgi
  run "nvidia-smi mig -lci" nvidia-smi mig -lci
  run "nvidia-smi -q | grep -i -A3 mig" sh -c 'nvidia-smi -q | grep -i -A3 mig'
  run "nvidia-smi -q -x | grep -i mig" sh -c 'nvidia-smi -q -x | grep -i -E "mig|<product_name>|<driver_version>|<cuda_version>"'
  run "ls -la /proc/driver/nvidia/capabilities /proc/driver/nvidia/capabilities/mig" ls -la /proc/driver/nvidia/capabilities /proc/driver/nvidia/capabilities/mig
  run "nvidia-smi --version" nvidia-smi --version
  run "nvidia-container-cli --version" nvidia-container-cli --version
  run "nvidia-container-cli info" nvidia-container-cli info
  run "nvidia-ctk --version" nvidia-ctk --version
  run "docker version --format '{{json .}}'" docker version --format '{{json .}}'
  run "docker info --format '{{json .Runtimes}}'" docker info --format '{{json .Runtimes}}'
  run "containerd --version" containerd --version
  run "config files" sh -c 'for f in /etc/docker/daemon.json /etc/containerd/config.toml /etc/nvidia-container-runtime/config.toml /etc/cdi/*.yaml /etc/cdi/*.json /var/run/cdi/*; do [ -e "$f" ] && { echo "## $f"; head -80 "$f"; } || echo "## $f: absent"; done'
  run "ls /usr/local/nvidia; driver mounts" sh -c 'ls -la /usr/local/nvidia 2>&1 | head; grep -i nvidia /proc/mounts | head -20'
  run "pip show nvidia-ml-py" sh -c 'python3 -m pip show nvidia-ml-py 2>/dev/null | grep -E "^(Name|Version)"'
} > "$OUT/host.txt" 2>&1
{ time python3 "$D/mig.py"; } > "$OUT/mig.txt" 2>&1
{ time env PYTHONPATH=/tmp/site timeout 120 python3 "$D/plugins.py"; echo "rc=$?"; } > "$OUT/plugins.txt" 2>&1
grep -c '^###' "$OUT/host.txt" "$OUT/mig.txt" "$OUT/plugins.txt"
