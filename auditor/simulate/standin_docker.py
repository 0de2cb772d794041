"""Stand-in ``docker`` (or ``podman``) for simulated hosts: ``images``, ``ps``, ``inspect``, ``image inspect``
and ``info``, each with ``--format``, answering as the real engine did (tests/fixtures/real/workflows/container/).

Copied into ``usr/bin/<runtime>``; reads ``usr/share/auditor-sim/containers.json`` (written by
``auditor.simulate.runtimes``): ``access`` (ok or denied), ``images`` (``Id``, ``RepoTags``,
``RepoDigests``, ``Repository``, ``Tag``, ``ID``), ``containers`` (``docker inspect``'s
fields: ``Id``, ``Name``, ``Config.Image``, ``Image``, ``HostConfig``, ``State``), ``runtimes``
and ``default_runtime``. Go templates are filled field by field: ``{{.Field}}``,
``{{.A.B}}`` and ``{{json .A.B}}``. ``ps`` lists running containers, ``ps -a`` all; IDs are
cut to 12 characters unless ``--no-trunc``. ``inspect`` of an unknown object prints what it
found and ``Error: No such object: NAME`` and exits 1, as docker does; a user outside the
docker group gets the daemon's real permission error.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "share", "auditor-sim", "containers.json")) as handle:
    STATE = json.load(handle)

DENIED = (
    "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: "
    'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/{what}/json": dial unix /var/run/docker.sock: connect: '
    "permission denied\n"
)


def lookup(row, path):
    value = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def render(template, row):
    template = template.replace("\\t", "\t")

    def field(match):
        value = lookup(row, match.group(2))
        if match.group(1):
            return json.dumps(value, separators=(",", ":"))
        return "" if value is None else str(value)

    return re.sub(r"\{\{\s*(json\s+)?\.([\w.]+)\s*\}\}", field, template)


def option(argv, name):
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def operands(argv):
    """The arguments that are not options (nor an option's value)."""
    found, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--format", "--type", "-f"):
            skip = True
        elif not arg.startswith("-"):
            found.append(arg)
    return found


def by_name(containers, name):
    for container in containers:
        if name in (container["Id"], container["Id"][:12], container["Name"].lstrip("/")):
            return container
    return None


def inspect(rows, names, template, find):
    missing, found = [], []
    for name in names:
        row = find(rows, name)
        (missing if row is None else found).append(name if row is None else row)
    if template is None:
        print(json.dumps(found, indent=4))
    else:
        for row in found:
            print(render(template, row))
    for name in missing:
        sys.stderr.write(f"Error: No such object: {name}\n")
    return 1 if missing else 0


def image_by_id(images, name):
    for image in images:
        if name in (image["Id"], image.get("ID")) or name in image.get("RepoTags", []) + image.get("RepoDigests", []):
            return image
    return None


def shown_image(container, images):
    """What ``docker ps`` shows as the image: the reference as typed while it still names the image the
    container runs, else that image's ID (recorded after a tag moved: docker-ps-table.out)."""
    typed = container["Config"]["Image"]
    image = image_by_id(images, container["Image"])
    names = set(image.get("RepoTags", []) + image.get("RepoDigests", [])) if image else set()
    if image is None or {typed, typed + ":latest"} & names:
        return typed
    return container["Image"]


def main(argv):
    command = argv[:2] if argv[:2] == ["image", "inspect"] else argv[:1]
    if not argv or command[0] not in ("images", "ps", "inspect", "image", "info"):
        sys.stderr.write("unknown command\n")
        return 1
    if STATE.get("access") == "denied":
        sys.stderr.write(DENIED.format(what="images" if argv[0] == "images" else "containers"))
        return 1
    template = option(argv, "--format")
    containers, images = STATE.get("containers", []), STATE.get("images", [])
    if command == ["image", "inspect"]:
        return inspect(images, operands(argv[2:]), template, image_by_id)
    if argv[0] == "inspect":
        return inspect(containers, operands(argv[1:]), template, by_name)
    if argv[0] == "info":
        info = {"Runtimes": STATE.get("runtimes", {}), "DefaultRuntime": STATE.get("default_runtime", "runc")}
        print(render(template, info) if template else json.dumps(info))
        return 0
    if argv[0] == "images":
        rows = images
        template = template or "{{.Repository}}\t{{.Tag}}\t{{.ID}}"
    else:
        every = "-a" in argv or "--all" in argv
        rows = []
        for container in reversed(containers):  # newest first, as docker lists them
            if not every and container["State"]["Status"] != "running":
                continue
            cid = container["Id"] if "--no-trunc" in argv else container["Id"][:12]
            image = shown_image(container, images)
            rows.append(
                {
                    "ID": cid,
                    "Names": container["Name"].lstrip("/"),
                    "Image": image,
                    "State": container["State"]["Status"],
                }
            )
        template = template or "{{.ID}}\t{{.Image}}\t{{.Names}}"
    for row in rows:
        print(render(template, row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
