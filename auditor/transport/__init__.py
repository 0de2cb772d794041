"""Transport: the only code that speaks SSH.

Owns how hosts are reached and what came back: ``~/.ssh/config`` as OpenSSH applies it
(``sshconfig``), host-key trust (``hostkeys``), one connection per host (``connector``),
running a program on many hosts at once (``runner``), and the records of what happened
(``outcome``: pure values, no asyncssh, so the core may read them).

It sends the program it is given and never looks inside: it does not import the probe.
It may import the foundations and ``auditor.inventory``; nothing above. This ``__init__``
imports nothing, so ``auditor.transport.outcome`` loads without asyncssh.
"""
