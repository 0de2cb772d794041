"""The ``containers`` section: images and containers (docker, else podman), each container with the image
as typed, its registry digests, its OCI runtime and its GPU requests (``container_details``)."""

from .common import MAX_LIST, clip, first_line, parallel
from .container_details import inspect_containers

# What ``docker ps`` without ``-a`` lists: the states in which a container is up.
UP_STATES = ("running", "restarting", "paused")


def collect_containers(ctx):
    """Images and containers from ``docker`` (else ``podman``), as this user, never sudo.

    Like ``docker images --format ...`` and ``docker ps -a --no-trunc --format ...``, then
    ``docker inspect`` of the containers (``container_details``). ``running`` lists the
    containers that are up, ``stopped`` the others (``created``: a GPU container the engine
    could not start stays there). No runtime installed is not an error (``runtime`` null); a
    daemon this user may not reach is; an inspection that fails leaves the list as ``ps``
    gave it and says why in ``inspect_error``.
    """
    first_error = None
    for runtime in ("docker", "podman"):
        exe = ctx.which(runtime)
        if exe is None:
            continue
        images, listed = parallel(
            [
                lambda exe=exe: ctx.run([exe, "images", "--format", "{{.Repository}}\t{{.Tag}}\t{{.ID}}"], timeout=8),
                lambda exe=exe: ctx.run(
                    [exe, "ps", "-a", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.State}}"],
                    timeout=8,
                ),
            ]
        )
        problem = None
        for answer in (images, listed):
            if isinstance(answer, Exception):
                problem = str(answer)
            elif answer[0] != 0:
                problem = first_line(answer[2] or answer[1]) or "exit status %d" % answer[0]
        if problem is None:
            containers = table(listed[1], ("id", "name", "image", "state"))
            section = {"runtime": runtime, "images": table(images[1], ("repository", "tag", "id"))}
            section.update(describe(ctx, exe, containers))
            return section
        if first_error is None:
            first_error = {
                "runtime": runtime,
                "images": [],
                "running": [],
                "error": clip("%s: %s" % (runtime, problem), 512),
            }
    return first_error or {"runtime": None, "images": [], "running": []}


def describe(ctx, exe, containers):
    """``running`` and ``stopped`` from the ``ps`` rows, completed by ``docker inspect``."""
    try:
        details, problem = inspect_containers(ctx, exe, [c["id"] for c in containers])
    except Exception as exc:  # the list from ps still stands
        details, problem = {}, clip("inspect: %s" % exc, 300)
    running: list = []
    stopped: list = []
    for row in containers:
        entry = {"name": row["name"], "image": row["image"], "id": row["id"], "state": row["state"]}
        found = details.get(row["id"] or "")
        if found is not None:
            entry.update(found)
            entry["name"] = found["name"] or row["name"]
            entry["image"] = found["image"] or row["image"]
        state = (entry.get("state") or "").lower()
        (running if state in UP_STATES or not state else stopped).append(entry)
    return {"running": running, "stopped": stopped, "inspect_error": problem}


def table(text, keys):
    rows = []
    for line in text.splitlines()[:MAX_LIST]:
        parts = line.split("\t")
        if len(parts) == len(keys) and parts[0].strip():
            rows.append(dict((k, clip(v.strip(), 256) or None) for k, v in zip(keys, parts)))
    return rows
