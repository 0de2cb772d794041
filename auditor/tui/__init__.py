"""The interactive front end (Textual): the fleet screen, its widgets and screens, and its commands.

Owns the app (``app``), what it shows (``model``, ``cells``, ``legend``, ``detail``), where
its hosts come from (``source``: a live audit or a replay of a saved report,
``recorded``), the plan view, the host-key review, and the ``tui`` and ``demo`` commands
(``command``). Imported only when one of those commands runs. It never imports the
headless front end (``auditor.cli``); the options both take are ``auditor.audit.options``.
"""
