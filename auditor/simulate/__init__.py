"""The simulated fleet: GPU nodes described in a file and served over real SSH on 127.0.0.x.

Owns fleet files (``fleet``: ``auditor.fleet/1``), the fixture roots the real probe reads
(``roots``), the stand-ins for nvidia-smi, nvcc, trtexec, docker and TensorRT that the
simulated hosts run (``standin_*``), the in-process asyncssh server (``server``) and
``auditor serve``'s fleet for other tools (``serve``). It powers the demo, the tests and
the benchmarks; it imports the layers up to the probe and the transport, never a front end.
"""
