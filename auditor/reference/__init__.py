"""Reference engines: a small network built once per TensorRT and GPU architecture, run everywhere.

``library`` keeps the plans and their metadata on disk; ``picking`` says which plan a
host can load (NVIDIA's portability rules); ``shipment`` packs the candidates into a
probe request and program; ``checks`` turns the probe's runs into findings;
``verify`` checks the library offline; ``build`` (an edge: SSH) builds a plan on a host.
"""
