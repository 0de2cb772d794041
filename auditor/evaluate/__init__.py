"""Evaluation: facts judged against NVIDIA's rules and the policy, as findings.

Owns the checks (one module each in ``checks``, each listed once in ``registry``), what a
check is made of (``check``: ``Check``, ``Run``), one host's evaluation (``host``) and the
fleet-level comparison of groups (``consistency``). The vocabulary of its results
(``Finding``, ``Verdict``, ``Severity``, ``Action``) is ``auditor.findings``, below the
policy that names severities and actions. It imports the foundations and
``auditor.inventory``, ``auditor.facts``, ``auditor.knowledge`` and ``auditor.policy``;
nothing about how facts were fetched or how results are shown.
"""
