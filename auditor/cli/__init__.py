"""The headless front end: ``auditor``'s commands that audit, report, plan and inspect without a terminal UI.

One module per subcommand (``report``, ``plan``, ``check``, ``compat``, ``knowledge``,
``engines``, ``history``, ``diff``, ``probe``, ``inventory``), each adding its parser and
running its command; ``common`` is what the door runs before any of them. The door itself
is ``auditor.__main__``. It never imports Textual nor the interactive front end
(``auditor.tui``); the options both share are ``auditor.audit.options``.
"""
