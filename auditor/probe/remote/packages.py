"""The ``packages`` section: the package manager's view of NVIDIA's packages, read without changing anything.

What it reads, cheapest first (timings measured on real hosts: docs/research/workflows.md A):

* **installed** NVIDIA-named packages with version, architecture and whether they are
  **held**: ``/var/lib/dpkg/status`` read directly (a hold is the ``hold`` want of
  ``Status: hold ok installed``, which is what ``apt-mark hold`` writes; no command runs),
  else ``rpm -qa --qf ...`` with ``%{EPOCHNUM}`` (7-16 ms);
* dnf's **version locks**: ``/etc/dnf/plugins/versionlock.list`` read directly (the file
  ``dnf versionlock add`` writes; ``!`` entries exclude), where the plugin's
  ``versionlock.conf`` does not disable it or move the list;
* the **local package cache**: ``/var/cache/apt/archives/NAME_VERSION_ARCH.deb`` (``%3a``
  for an epoch's colon) and dnf's ``/var/cache/dnf/*/packages/*.rpm``;
* only when the controller asks (``"packages": {"names": [...]}`` in the request, which
  ``auditor plan`` sends): **availability**, the versions the configured repositories
  offer for the installed NVIDIA packages and for the names asked, from the metadata the
  host already has: ``apt-cache policy NAMES`` (30-140 ms; it also gives each version's
  pin priority; apt's package cache kept in memory), or ``dnf -C repoquery --showduplicates``
  (170-250 ms; ``-C`` so that dnf never refreshes metadata; run as root, dnf still appends to its
  own log, ``/var/log/dnf.log``: the probe needs no root). A version only in the local cache
  is not in this list: apt and dnf install it only from its file, never by ``NAME=VERSION``
  (recorded).

Nothing here writes (but dnf's own log, run as root), needs root or uses the network. Names are checked against
``NAME_SHAPE`` before they reach an argv (never a shell).
"""

import fnmatch
import os
import re

from .common import MAX_LIST, ProbeTimeout, clip, first_line, remaining
from .system import NAME_SHAPE, NVIDIA_PACKAGE, dpkg_installed, installed_debs, nvidia_stanzas

RPM_PATTERNS = (
    "nvidia*",
    "libnvidia*",
    "cuda*",
    "libcud*",
    "cudnn*",
    "libnvinfer*",
    "libnvonnxparser*",
    "python3-libnvinfer*",
    "tensorrt*",
    "kmod-nvidia*",
    "xorg-x11-nvidia*",
    "libcublas*",
    "libnccl*",
)
DPKG_STATUS = "/var/lib/dpkg/status"
APT_ARCHIVES = "/var/cache/apt/archives"
APT_LISTS = "/var/lib/apt/lists"
VERSIONLOCK_CONF = "/etc/dnf/plugins/versionlock.conf"
VERSIONLOCK_LIST = "/etc/dnf/plugins/versionlock.list"
MAX_ASKED = 256


def collect_packages(ctx):
    """The package manager, the installed NVIDIA packages, holds or version locks, cached package files,
    and (when the request asks) the versions the repositories offer.

    ``manager`` is ``apt``, ``dpkg`` (dpkg without apt), ``dnf`` (dnf 4), ``dnf5``, ``yum``,
    ``rpm`` (no dnf or yum), or None (no package database). ``availability`` is None when the
    controller did not ask; else ``{"source", "names", "lists", "versions", "error"}``.
    """
    facts: dict = {"manager": None, "installed": [], "locks": [], "cached": [], "availability": None}
    errors = []
    installed = dpkg_installed(ctx)
    rpm = ctx.which("rpm") if any(ctx.isdir(d) for d in ("/var/lib/rpm", "/usr/lib/sysimage/rpm")) else None
    if installed is not None:
        facts["manager"] = "apt" if ctx.which("apt-cache") else "dpkg"
        facts["installed"] = list(installed)
        facts["cached"] = cached_debs(ctx)
    if rpm is not None and not facts["installed"]:  # a Debian host with rpm installed is still a Debian host
        try:
            installed = rpm_installed(ctx, rpm)
        except (OSError, ProbeTimeout, ValueError) as exc:
            installed = []
            errors.append("rpm: %s" % clip(str(exc), 300))
        if installed or facts["manager"] is None:
            facts["manager"] = rpm_manager(ctx)
            facts["installed"] = list(installed)
            facts["cached"] = cached_rpms(ctx)
            locks, problem = versionlocks(ctx)
            facts["locks"] = locks
            if problem:
                errors.append(problem)
            for package in facts["installed"]:
                package["held"] = any(not lock["exclude"] and lock_matches(lock["pattern"], package) for lock in locks)
    asked = ctx.request.get("packages")
    if isinstance(asked, dict) and facts["manager"] is not None:
        names = [p["name"] for p in facts["installed"]]
        extra = asked.get("names")
        if isinstance(extra, list):
            names += [n for n in extra[:MAX_ASKED] if isinstance(n, str) and NAME_SHAPE.match(n)]
        facts["availability"] = availability(ctx, facts["manager"], sorted(set(names)))
    for key in ("installed", "locks", "cached"):
        if len(facts[key]) > MAX_LIST:
            facts[key], facts["truncated"] = facts[key][:MAX_LIST], True
    if errors:
        facts["error"] = "; ".join(errors)
    return facts


# -- dpkg and apt ---------------------------------------------------------------------------------


def parse_dpkg_status(text):
    """Installed NVIDIA packages from the text of ``/var/lib/dpkg/status``: [{name, version, arch, held}]."""
    return installed_debs(nvidia_stanzas(text))


def cached_debs(ctx):
    """NVIDIA package files in apt's cache: [{name, version, arch, path}] from ``NAME_VERSION_ARCH.deb``."""
    found = []
    for path in ctx.glob(APT_ARCHIVES + "/*.deb")[: MAX_LIST * 4]:
        entry = parse_deb_filename(os.path.basename(path))
        if entry is not None and NVIDIA_PACKAGE.match(entry["name"]):
            entry["path"] = path
            found.append(entry)
    return found[:MAX_LIST]


def parse_deb_filename(name):
    """``libnvinfer10_10.9.0.34-1+cuda12.8_amd64.deb`` -> {name, version, arch}; ``%3a`` is an epoch's colon."""
    match = re.match(r"^([^_]+)_([^_]+)_([^_]+)\.deb$", name)
    if not match or not NAME_SHAPE.match(match.group(1)):
        return None
    version = re.sub(r"%3a", ":", match.group(2), flags=re.I)
    return {"name": match.group(1), "version": clip(version, 128), "arch": clip(match.group(3), 32)}


def apt_policy(ctx, names):
    """``apt-cache policy NAMES``: the versions each name has in the configured repositories."""
    # empty cache file names keep apt's package cache in memory: run as root, apt-cache would otherwise
    # rewrite /var/cache/apt/pkgcache.bin when it is stale, and the probe writes nothing on the host
    argv = [ctx.which("apt-cache"), "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=", "policy"]
    if ctx.rooted:  # the audited image's apt configuration, lists and dpkg status, not this machine's
        argv[1:1] = ["-o", "Dir=%s/" % ctx.root]
    status, out, err = ctx.run(argv + names, timeout=remaining(8.0))
    if status != 0:
        raise ValueError("apt-cache policy: %s" % (first_line(err) or "exit status %d" % status))
    return parse_apt_policy(out)


def parse_apt_policy(text):
    """``apt-cache policy`` output -> [{name, version, priority, sources}], one per version a repository offers.

    Per package: ``NAME:``, ``  Installed:``, ``  Candidate:``, ``  Version table:``, then per
    version `` *** VERSION PRIORITY`` (the installed one) or ``     VERSION PRIORITY`` followed by
    ``        PRIORITY SOURCE`` lines. The priority after a version is its pin priority; a
    version whose only source is dpkg's status file (``/var/lib/dpkg/status``) is installed
    but in no repository, and is left out. Names apt does not know print nothing.
    """
    versions, name, current = [], None, None
    for line in text.splitlines():
        header = re.match(r"^(\S+):$", line)
        if header:
            name, current = header.group(1).split(":")[0], None
            continue
        row = re.match(r"^ (\*\*\*|   ) (\S+) (-?\d{1,6})$", line)
        if row and name:
            current = {"name": name, "version": clip(row.group(2), 128), "priority": int(row.group(3)), "sources": []}
            versions.append(current)
            continue
        source = re.match(r"^\s{6,}(-?\d{1,6}) (.+)$", line)
        if source and current is not None and not source.group(2).strip().endswith(DPKG_STATUS):
            current["sources"].append(clip(source.group(2).strip(), 256))
    return [v for v in versions if v["sources"]]


def apt_lists(ctx):
    """True when apt has repository metadata (``*_Packages`` files in ``/var/lib/apt/lists``)."""
    return any("Packages" in os.path.basename(p) for p in ctx.glob(APT_LISTS + "/*"))


# -- rpm and dnf ----------------------------------------------------------------------------------


def rpm_manager(ctx):
    """``dnf`` (dnf 4), ``dnf5``, ``yum`` or ``rpm``: what resolves installs on an RPM host."""
    dnf = ctx.which("dnf")
    if dnf:
        target = os.path.basename(ctx.realpath(dnf))
        return "dnf5" if target.startswith("dnf5") or ctx.which("dnf5") == dnf else "dnf"
    if ctx.which("dnf5"):
        return "dnf5"
    return "yum" if ctx.which("yum") else "rpm"


def rpm_installed(ctx, rpm):
    """``rpm -qa --qf NAME\\tEPOCHNUM:VERSION-RELEASE\\tARCH`` over NVIDIA's name patterns."""
    argv = [rpm, "-qa", "--qf", "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"]
    if ctx.rooted:
        argv[1:1] = ["--root", ctx.root]
    status, out, err = ctx.run(argv + list(RPM_PATTERNS), timeout=remaining(8.0))
    if status != 0 and not out.strip():  # no pattern matching is exit 1 with nothing printed: no packages
        if "is not installed" in out + err or not (out + err).strip():
            return []
        raise ValueError("rpm -qa: %s" % (first_line(err) or "exit status %d" % status))
    return parse_rpm_qa(out)


def parse_rpm_qa(text):
    """``NAME\\tEPOCH:VERSION-RELEASE\\tARCH`` lines -> [{name, version, arch, held}] (``held`` set by the caller)."""
    found = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or not NAME_SHAPE.match(parts[0]) or not NVIDIA_PACKAGE.match(parts[0]):
            continue
        if not re.match(r"^\d+:\S+-\S+$", parts[1]):
            continue
        found[(parts[0], parts[2])] = {
            "name": parts[0],
            "version": clip(parts[1], 128),
            "arch": clip(parts[2], 32),
            "held": False,
        }
    return sorted(found.values(), key=lambda p: (p["name"], p["arch"]))


def versionlocks(ctx):
    """dnf 4's version lock entries ([{pattern, exclude}], problem or None), read from the plugin's list file.

    ``versionlock.conf`` may disable the plugin (``enabled = 0``: no lock applies) or name
    another ``locklist``. dnf 5 keeps its locks in ``/etc/dnf/versionlock.toml``, which is not
    read (no dnf 5 was available to record): the problem says so.
    """
    conf = parse_ini_keys(ctx.read_text(VERSIONLOCK_CONF, 64 * 1024) or "")
    if conf.get("enabled", "1").strip().lower() in ("0", "false", "no"):
        return [], None
    path = conf.get("locklist") or VERSIONLOCK_LIST
    text = ctx.read_text(path, 1024 * 1024)
    locks = parse_versionlock_list(text or "")
    if text is None and ctx.exists("/etc/dnf/versionlock.toml"):
        return locks, "dnf 5 version locks (/etc/dnf/versionlock.toml) are not read"
    return locks, None


def parse_ini_keys(text):
    """``key = value`` lines of a small INI file (sections ignored; the versionlock plugin's has one)."""
    keys = {}
    for line in text.splitlines():
        line = line.strip()
        if line and line[0] not in "#;[" and "=" in line:
            key, _, value = line.partition("=")
            keys[key.strip().lower()] = value.strip()
    return keys


def parse_versionlock_list(text):
    """``/etc/dnf/plugins/versionlock.list`` -> [{pattern, exclude}]: one NEVRA pattern a line, ``#`` comments,
    ``!`` before an excluded version (``!tensorrt-0:10.14.1.48-1.cuda12.9.*``)."""
    locks = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = line.startswith("!")
        pattern = line[1:].strip() if exclude else line
        if pattern and len(pattern) <= 256 and not re.search(r"\s", pattern):
            locks.append({"pattern": pattern, "exclude": exclude})
    return locks[:MAX_LIST]


def lock_matches(pattern, package):
    """True when a lock entry (a glob over ``NAME-EPOCH:VERSION-RELEASE.ARCH``) names this package's version."""
    nevra = "%s-%s.%s" % (package["name"], package["version"], package["arch"])
    return fnmatch.fnmatchcase(nevra, pattern)


def cached_rpms(ctx):
    """NVIDIA package files in dnf's (or yum's) cache: [{name, version, arch, path}], version without epoch."""
    found = []
    paths = ctx.glob("/var/cache/dnf/*/packages/*.rpm") + ctx.glob("/var/cache/yum/*/*/packages/*.rpm")
    for path in paths[: MAX_LIST * 4]:
        entry = parse_rpm_filename(os.path.basename(path))
        if entry is not None and NVIDIA_PACKAGE.match(entry["name"]):
            entry["path"] = path
            found.append(entry)
    return found[:MAX_LIST]


def parse_rpm_filename(name):
    """``nvidia-driver-580.82.07-1.el9.x86_64.rpm`` -> {name, version "580.82.07-1.el9", arch} (no epoch in names)."""
    match = re.match(r"^(.+)-([^-]+)-([^-]+)\.([A-Za-z0-9_]+)\.rpm$", name)
    if not match or not NAME_SHAPE.match(match.group(1)):
        return None
    return {
        "name": match.group(1),
        "version": clip("%s-%s" % (match.group(2), match.group(3)), 128),
        "arch": match.group(4),
    }


def dnf_repoquery(ctx, names):
    """``dnf -C repoquery --showduplicates`` over ``names``: [{name, version, arch, sources}] from the cache only."""
    argv = [ctx.which("dnf"), "-C", "-q", "repoquery", "--showduplicates"]
    argv += ["--qf", "%{name}\\t%{epoch}:%{version}-%{release}\\t%{arch}\\t%{repoid}"]
    if ctx.rooted:
        argv[1:1] = ["--installroot", ctx.root]
    status, out, err = ctx.run(argv + names, timeout=remaining(8.0))
    if status != 0:
        raise ValueError("dnf repoquery: %s" % (first_line(err) or first_line(out) or "exit status %d" % status))
    return parse_repoquery(out)


def parse_repoquery(text):
    """``NAME\\tEPOCH:VERSION-RELEASE\\tARCH\\tREPO`` lines -> [{name, version, arch, sources}]; other lines skipped."""
    merged: dict = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not NAME_SHAPE.match(parts[0]) or not re.match(r"^\d+:\S+-\S+$", parts[1]):
            continue
        key = (parts[0], parts[1], parts[2])
        entry = merged.setdefault(
            key, {"name": parts[0], "version": clip(parts[1], 128), "arch": clip(parts[2], 32), "sources": []}
        )
        entry["sources"].append(clip(parts[3], 128))
    return list(merged.values())


# -- availability -----------------------------------------------------------------------------------


def availability(ctx, manager, names):
    """What the repositories offer for ``names``, from the host's metadata, as the collector's ``availability``."""
    result = {"source": None, "names": names[: MAX_ASKED * 2], "lists": None, "versions": [], "error": None}
    try:
        if manager == "apt":
            result["source"] = "apt-cache policy"
            result["lists"] = apt_lists(ctx)
            result["versions"] = apt_policy(ctx, names) if names else []
        elif manager == "dnf":
            result["source"] = "dnf -C repoquery"
            result["versions"] = dnf_repoquery(ctx, names) if names else []
            result["lists"] = True
        else:
            result["error"] = "the versions the repositories offer are not read with %s" % manager
    except (OSError, ProbeTimeout, ValueError) as exc:
        result["error"] = clip(str(exc), 300)
    result["versions"] = result["versions"][: MAX_LIST * 2]
    return result
