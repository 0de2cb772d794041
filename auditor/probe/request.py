"""What the controller asks a host's probe for: the ``--request=`` argument."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any


def encode_request(
    budgets: Mapping[str, float] | None = None,
    engines: Sequence[str] = (),
    reference: Sequence[Mapping[str, Any]] | None = None,
    build: Mapping[str, Any] | None = None,
    cuda_api: str | None = None,
    packages: Sequence[str] | None = None,
    plugins: bool = False,
) -> str:
    """The controller's request to the probe, as the ``--request=`` argument's value (base64 of JSON).

    ``budgets`` are seconds per collector (and ``engine_load``); ``engines`` the engine path
    templates to test-load; ``reference`` lists reference engines and their candidates
    (``auditor.reference``); ``build`` asks the build mode for a reference engine;
    ``cuda_api`` (driver, runtime) forces the CUDA library a reference run allocates with;
    ``packages`` asks which versions the host's repositories offer for its installed NVIDIA
    packages and these names besides (``auditor plan`` asks; ``remote/packages.py``); ``plugins``
    asks each TensorRT module's plugin registry (a policy that requires plugins asks).
    """
    request: dict[str, Any] = {"engines": list(engines)}
    if budgets:
        request["budgets"] = dict(budgets)
    if reference is not None:
        request["reference"] = [dict(item) for item in reference]
    if build is not None:
        request["build"] = dict(build)
    if cuda_api is not None:
        request["cuda_api"] = cuda_api
    if packages is not None:
        request["packages"] = {"names": sorted(set(packages))}
    if plugins:
        request["plugins"] = True
    return base64.b64encode(json.dumps(request, sort_keys=True).encode()).decode("ascii")
