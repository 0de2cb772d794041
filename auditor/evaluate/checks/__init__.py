"""The checks, one module each; each defines its ``CHECK`` and is listed once in ``auditor.evaluate.registry``."""
