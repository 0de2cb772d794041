"""The plan writers, one module per format: ``table`` (terminal), ``md``, ``data`` (JSON and Ansible inventory)."""
