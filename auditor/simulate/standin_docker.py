"""Stand-in ``docker`` (or ``podman``) for simulated hosts: ``images`` and ``ps`` with ``--format``.

Copied into ``usr/bin/<runtime>``; reads ``usr/share/auditor-sim/containers.json``
(``access``: ok or denied, ``images``: [{repository, tag, id}], ``running``: [{name,
image, id}]). ``--format`` Go templates are filled field by field (``{{.Repository}}``,
``{{.Tag}}``, ``{{.ID}}``, ``{{.Names}}``, ``{{.Image}}``); a user outside the docker
group gets the daemon's real permission error.
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


def render(template, row):
    template = template.replace("\\t", "\t")
    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: str(row.get(m.group(1), "")), template)


def main(argv):
    if not argv or argv[0] not in ("images", "ps"):
        sys.stderr.write("unknown command\n")
        return 1
    if STATE.get("access") == "denied":
        sys.stderr.write(DENIED.format(what="images" if argv[0] == "images" else "containers"))
        return 1
    template = argv[argv.index("--format") + 1] if "--format" in argv else None
    if argv[0] == "images":
        rows = [{"Repository": i["repository"], "Tag": i["tag"], "ID": i["id"]} for i in STATE.get("images", [])]
        template = template or "{{.Repository}}\t{{.Tag}}\t{{.ID}}"
    else:
        rows = [{"Names": c["name"], "Image": c["image"], "ID": c["id"]} for c in STATE.get("running", [])]
        template = template or "{{.ID}}\t{{.Image}}\t{{.Names}}"
    for row in rows:
        print(render(template, row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
