"""The probe: what runs on each host, and what the controller asks of it.

Owns the remote program (``remote/``: standard library only, Python 3.6, one module per
collector, the child programs in ``remote/children/``), its assembly into the one program
sent on stdin and how a host runs it (``program``), and the request that travels with it
(``request``). It imports only the foundations; it never speaks SSH (``auditor.transport``
sends what ``program`` assembles) and never reads the facts (``auditor.facts`` does).
"""
