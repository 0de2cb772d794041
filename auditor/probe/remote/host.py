"""The ``host`` section: hostname, OS release, kernel, architecture, Python, boot time."""

import platform
import re
import socket

from .common import clip, iso_utc


def parse_os_release(text):
    """KEY=value lines of os-release(5) into a dict (quotes removed)."""
    result = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result[key.strip()] = clip(value, 256)
    return result


def boot_time(ctx):
    """Boot time (ISO 8601 UTC) from the ``btime`` line of /proc/stat, or None."""
    match = re.search(r"^btime\s+(\d+)\s*$", ctx.read_text("/proc/stat", 64 * 1024) or "", re.M)
    return iso_utc(int(match.group(1))) if match else None


def collect_host(ctx):
    """Hostname, OS (os-release), kernel, arch, python, boot time: like ``uname -a; uptime -s``."""
    release = parse_os_release(ctx.read_text("/etc/os-release") or ctx.read_text("/usr/lib/os-release"))
    hostname = (ctx.read_text("/proc/sys/kernel/hostname") or ctx.read_text("/etc/hostname") or "").strip()
    if not hostname and not ctx.rooted:
        hostname = socket.gethostname()
    kernel = (ctx.read_text("/proc/sys/kernel/osrelease") or "").strip()
    if not kernel and not ctx.rooted:
        kernel = platform.release()
    arch = (ctx.read_text("/proc/sys/kernel/arch") or "").strip() or platform.machine()
    return {
        "hostname": clip(hostname, 256) or None,
        "os": {
            "id": release.get("ID"),
            "version_id": release.get("VERSION_ID"),
            "pretty_name": release.get("PRETTY_NAME"),
        },
        "kernel": clip(kernel, 256) or None,
        "arch": clip(arch, 64),
        "python": platform.python_version(),
        "boot_time": boot_time(ctx),
    }
