"""Reference engines: a small network built once per TensorRT and GPU architecture, run everywhere.

``library`` keeps the plans and their metadata on disk; ``picking`` says which plan a
host can load (NVIDIA's portability rules); ``shipment`` packs the candidates into a
probe request and program; ``verify`` checks the library offline; ``build`` builds a
plan on a host, reaching it only through the transport (``auditor.transport.runner``).
What the probe's runs mean is a check like any other (``auditor.evaluate.checks.reference``).
It imports the layers up to the policy, the probe and the transport; no report, no front end.
"""
