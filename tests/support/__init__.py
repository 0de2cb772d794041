"""What several test modules share: paths, the demo, builders of documents, reports and plans, sshd, TUI pilots."""
