"""Facts: what hosts reported, read strictly into typed values. The one reader of facts.

Owns the typed record of a probe run (``model``), the reader of probe output and of facts
stored in reports and the history (``reader``: untrusted bytes in, ``Facts`` or
``FactsError`` out), and the short summary of a host's software stack that reports, metrics
and diffs compare (``stack``). It imports only the foundations (``auditor.text``,
``auditor.versions``).
"""
