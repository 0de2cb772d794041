"""The report writers, one module per format; each renders a ``Report`` and nothing else (``formats`` names them)."""
