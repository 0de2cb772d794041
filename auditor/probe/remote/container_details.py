"""What ``docker inspect`` adds to the container list: the image as typed, the image ID, its registry
digests, the OCI runtime and the GPU requests.

Two commands, both read-only and both as this user (docs/research/workflows.md, section C,
recorded against a real Docker 20.10 engine in tests/fixtures/real/workflows/container/):

* ``docker inspect --type container --format '{{json .Id}} {{json .Name}} ...' ID...``: one
  line per container, each field a JSON value (a full ``docker inspect`` is ~6.5 KB a
  container, and ``\\t`` stays literal in inspect templates, so ``{{json}}`` and spaces);
  ``.Config.Image`` is what the user typed, ``.Image`` the image ID;
* ``docker image inspect --format '{{json .Id}} {{json .RepoDigests}}' IMAGE_ID...``: the
  registry digests (``REPO@sha256:...``) of the image each container runs. Resolved
  through the image ID, never through the tag: a moved tag no longer names the image a
  container still runs.
"""

import json

from .common import clip, first_line

MAX_INSPECTED = 128


CONTAINER_TEMPLATE = (
    "{{json .Id}} {{json .Name}} {{json .Config.Image}} {{json .Image}} "
    "{{json .HostConfig.Runtime}} {{json .HostConfig.DeviceRequests}} {{json .State.Status}}"
)


IMAGE_TEMPLATE = "{{json .Id}} {{json .RepoDigests}}"


def json_values(line):
    """The JSON values of one line, separated by blanks (``"a" null [1]`` -> ["a", None, [1]]); ValueError if any is not JSON."""
    decoder = json.JSONDecoder()
    values, index = [], 0
    line = line.strip()
    while index < len(line):
        value, end = decoder.raw_decode(line, index)
        values.append(value)
        index = end
        while index < len(line) and line[index] == " ":
            index += 1
    return values


def gpu_request(requests):
    """What ``HostConfig.DeviceRequests`` asks of GPUs: "all" (``--gpus all``, Count -1), the device IDs
    ("0,1"), a count ("2"), or None when no request names the ``gpu`` capability (or the nvidia driver)."""
    for request in requests if isinstance(requests, list) else []:
        if not isinstance(request, dict):
            continue
        capabilities = request.get("Capabilities") or []
        wants_gpu = request.get("Driver") == "nvidia" or any(
            isinstance(group, list) and "gpu" in group for group in capabilities
        )
        if not wants_gpu:
            continue
        ids = request.get("DeviceIDs")
        if isinstance(ids, list) and ids:
            return clip(",".join(str(i) for i in ids), 128)
        count = request.get("Count")
        if count == -1:
            return "all"
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            return str(count)
        return "all"
    return None


def parse_container_lines(text):
    """``CONTAINER_TEMPLATE`` lines into {id: {...}}; lines that do not parse are skipped (the count says so)."""
    found, bad = {}, 0
    for line in text.splitlines()[:MAX_INSPECTED]:
        if not line.strip():
            continue
        try:
            values = json_values(line)
        except ValueError:
            bad += 1
            continue
        if len(values) != 7 or not isinstance(values[0], str):
            bad += 1
            continue
        _, name, typed, image_id, runtime, requests, status = values
        found[values[0]] = {
            "name": clip(str(name).lstrip("/"), 256) if isinstance(name, str) else None,
            "image": clip(typed, 512) if isinstance(typed, str) and typed else None,
            "image_id": clip(image_id, 128) if isinstance(image_id, str) and image_id else None,
            "runtime": clip(runtime, 64) if isinstance(runtime, str) and runtime else None,
            "gpus": gpu_request(requests),
            "state": clip(status, 32) if isinstance(status, str) and status else None,
        }
    return found, bad


def parse_image_lines(text):
    """``IMAGE_TEMPLATE`` lines into {image id: [repo digests]}."""
    digests = {}
    for line in text.splitlines()[:MAX_INSPECTED]:
        if not line.strip():
            continue
        try:
            values = json_values(line)
        except ValueError:
            continue
        if len(values) != 2 or not isinstance(values[0], str):
            continue
        listed = values[1] if isinstance(values[1], list) else []
        digests[values[0]] = [clip(d, 512) for d in listed[:16] if isinstance(d, str)]
    return digests


def inspect_containers(ctx, exe, ids):
    """{id: details} for ``ids`` (at most MAX_INSPECTED), with each container's image digests; and an error or None."""
    ids = [i for i in ids if i][:MAX_INSPECTED]
    if not ids:
        return {}, None
    status, out, err = ctx.run([exe, "inspect", "--type", "container", "--format", CONTAINER_TEMPLATE, *ids], timeout=8)
    if status != 0:
        return {}, clip("inspect: %s" % (first_line(err) or "exit status %d" % status), 300)
    found, bad = parse_container_lines(out)
    problem = "inspect: %d unreadable line(s)" % bad if bad else None
    images = sorted(set(d["image_id"] for d in found.values() if d["image_id"]))
    if images:
        status, out, err = ctx.run([exe, "image", "inspect", "--format", IMAGE_TEMPLATE, *images], timeout=8)
        if status != 0:  # an image removed since: the others still answer, and stdout holds them
            problem = problem or clip("image inspect: %s" % (first_line(err) or "exit status %d" % status), 300)
        digests = parse_image_lines(out)
        for details in found.values():
            listed = digests.get(details["image_id"])
            details["digests"] = listed
    return found, problem
