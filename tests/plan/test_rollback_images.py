"""The plan's rollback record names the images the running containers run, by registry digest."""

from __future__ import annotations

from pathlib import Path

from auditor.evaluate.registry import CHECK_IDS
from auditor.plan.target import build_target
from auditor.plan.writers.data import render_plan_json
from auditor.policy.files import load_policies
from tests.support.plans import A100, AS_OF, POLICY, driver, host, one, plan, toolkit, trt

DATED = "sha256:9a08a64b86f956c436010f9fdad7ad5c9f6c137136da0c605c751859349e8d10"
REPO = "127.0.0.1:35123/nvidia/tritonserver"


def test_rollback_lists_running_images_by_digest(tmp_path: Path) -> None:
    """Each running container with the digest of its own repository (a tag can move; the digest cannot), none
    for an image never pushed; containers that are not running are not part of what to roll back to."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    policy = load_policies([path], as_of=AS_OF, checks=CHECK_IDS)
    containers = {
        "runtime": "docker",
        "images": [],
        "running": [
            {
                "name": "triton",
                "image": f"{REPO}:latest",
                "id": "a" * 64,
                "state": "running",
                "gpus": "all",
                "image_id": "sha256:" + "1" * 64,
                "digests": [f"mirror.example.com/tritonserver@{DATED}", f"{REPO}@{DATED}"],
            },
            {
                "name": "tool",
                "image": "team/tool:dev",
                "id": "b" * 64,
                "state": "running",
                "gpus": None,
                "image_id": "sha256:" + "2" * 64,
                "digests": [],
            },
        ],
        "stopped": [
            {
                "name": "old",
                "image": f"{REPO}:23.08-py3",
                "id": "c" * 64,
                "state": "exited",
                "gpus": "all",
                "image_id": "sha256:" + "3" * 64,
                "digests": [f"{REPO}@sha256:" + "4" * 64],
            },
        ],
    }
    report = host(
        driver=driver("535.104.05"), gpus=A100, cuda=toolkit("12.2.2"), tensorrt=trt("8.6.1.6"), containers=containers
    )
    target = build_target(policy, "serving", [])
    rollback = one(report, target, policy).rollback
    assert [(i.container, i.image, i.digest) for i in rollback.images] == [
        ("triton", f"{REPO}:latest", f"{REPO}@{DATED}"),
        ("tool", "team/tool:dev", None),
    ]
    document = render_plan_json(plan([report], target, policy))
    assert '"images": [' in document and f'"digest": "{REPO}@{DATED}"' in document
