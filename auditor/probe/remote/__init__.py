"""The probe: the program shipped to every host, as the files it is assembled from.

Everything here runs on the host, not on the controller: standard library only, Python
3.6 syntax, read-only. ``auditor.probe.program`` assembles the modules beside this file
into ONE program (each compiled under its own file name, in one namespace, in the order
their relative imports give) and embeds the child programs of ``children/``; the
controller sends that program on stdin. One collector per module (``host``, ``driver``,
``gpus``, ``cuda``, ``cudnn``, ``tensorrt``, ``containers``, ``container_toolkit``, ``mig``,
``engines``, ``reference``, ``packages``), listed in ``main.COLLECTORS``; ``build`` is the
reference-engine build mode. ``startup`` runs first and starts slow work while the rest
compiles; ``forkserver`` runs the child programs in forked processes instead of fresh
interpreters.

Rules the assembly relies on (``auditor.probe.program`` checks them): modules import
each other only with relative imports (the assembly blanks those lines), never import
``auditor``, and no two modules define the same top-level name.

This ``__init__`` is not shipped; it makes the modules importable for tests and type checks.
"""
