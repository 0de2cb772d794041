"""The interactive front end (Textual). Imported only by ``auditor tui`` / ``auditor demo``."""
