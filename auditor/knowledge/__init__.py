"""NVIDIA knowledge: the bundled tables and what they answer.

Owns the cited data (``*.yaml`` beside this file) and its loading, validation, as-of date
and site overlay (``tables``, ``overlay``); the lookups over it (``cuda``, ``gpus``,
``tensorrt``); and the compatibility answers built on them (``answers``: the answer type;
``compat``: CUDA and drivers on GPUs; ``compat_tensorrt``; ``images``: NGC containers;
``lookup``: what ``auditor compat`` asks). It imports only the foundations
(``auditor.errors``, ``auditor.versions``, ``auditor.yamlsrc``).
"""
