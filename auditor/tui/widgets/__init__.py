"""The interactive audit's widgets, one module each (styles in the screen's ``.tcss``)."""
