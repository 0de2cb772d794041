"""NVIDIA knowledge: the bundled tables and what they answer.

Owns the cited data (``*.yaml`` beside this file) and its loading, validation, as-of date
and site overlay (``tables``, ``overlay``); the lookups over it (``cuda``, ``gpus``,
``tensorrt``); and the compatibility answers built on them (``answers``: the answer type;
``compat``: CUDA and drivers on GPUs; ``compat_tensorrt``; ``images``: NGC containers;
``lookup``: what ``auditor compat`` asks). It imports only the foundations
(``auditor.errors``, ``auditor.versions``, ``auditor.yamlsrc``).
"""

import os

OVERLAY_ENV = "AUDITOR_KNOWLEDGE"


def overlay_directory(flag: str | None) -> str | None:
    """The site overlay's directory: ``--knowledge DIR`` wins over ``$AUDITOR_KNOWLEDGE``; None for neither.

    Here rather than in ``overlay``: an audit without an overlay (nearly all) never imports it.
    """
    return flag or os.environ.get(OVERLAY_ENV) or None
