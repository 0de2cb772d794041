"""The ``containers`` section: images and running containers (docker, else podman)."""

from .common import MAX_LIST, clip, first_line, parallel


def collect_containers(ctx):
    """Images and running containers from ``docker`` (else ``podman``), as this user, never sudo.

    Like ``docker images --format ...`` and ``docker ps --format ...``. No runtime
    installed is not an error (``runtime`` null); a daemon this user may not reach is.
    """
    first_error = None
    for runtime in ("docker", "podman"):
        exe = ctx.which(runtime)
        if exe is None:
            continue
        images, running = parallel(
            [
                lambda exe=exe: ctx.run([exe, "images", "--format", "{{.Repository}}\t{{.Tag}}\t{{.ID}}"], timeout=8),
                lambda exe=exe: ctx.run([exe, "ps", "--format", "{{.Names}}\t{{.Image}}\t{{.ID}}"], timeout=8),
            ]
        )
        problem = None
        for answer in (images, running):
            if isinstance(answer, Exception):
                problem = str(answer)
            elif answer[0] != 0:
                problem = first_line(answer[2] or answer[1]) or "exit status %d" % answer[0]
        if problem is None:
            return {
                "runtime": runtime,
                "images": table(images[1], ("repository", "tag", "id")),
                "running": table(running[1], ("name", "image", "id")),
            }
        if first_error is None:
            first_error = {
                "runtime": runtime,
                "images": [],
                "running": [],
                "error": clip("%s: %s" % (runtime, problem), 512),
            }
    return first_error or {"runtime": None, "images": [], "running": []}


def table(text, keys):
    rows = []
    for line in text.splitlines()[:MAX_LIST]:
        parts = line.split("\t")
        if len(parts) == len(keys) and parts[0].strip():
            rows.append(dict((k, clip(v.strip(), 256) or None) for k, v in zip(keys, parts)))
    return rows
