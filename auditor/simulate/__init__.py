"""The simulated fleet: fleet files, fixture roots and the in-process SSH server."""

from auditor.simulate.fleet import FAULTS, Fleet, SimHost, load_fleet

__all__ = ["FAULTS", "Fleet", "SimHost", "load_fleet"]
