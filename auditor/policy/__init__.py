"""Policies: which versions each group of hosts may run, and what else they must satisfy.

A policy file (``schema: auditor.policy/1``) names **stacks** (the components a
deployment is built on) and **rules** that select hosts and bound what they run::

    schema: auditor.policy/1
    name: production
    stacks:
      trt86:                              # the golden trio, and the engines built on it
        image: nvcr.io/nvidia/tensorrt:23.08-py3
        driver: {min: "535.104.05", max: "535", target: "535.183.01"}
        cuda: "12.2"                      # a scalar pins a version (prefix match)
        cudnn: {min: "8.9"}
        tensorrt: "8.6.1.6"
        engines: ["/models/resnet50/{sm}.plan"]
        reference: ref-fp32               # a reference engine from the library must load and compute right
    rules:
      - id: serving
        select: {groups: [serving], hosts: ["gpu-*"], gpus: ["*A100*"]}
        stack: trt86                      # the stack's bounds; the rule's own keys override them
        gpus: {count: 8}
        consistent: [driver, tensorrt]    # one version across each selected group, else warn
        disable: {driver.eol: "R535 stays until the Q3 refresh (OPS-1234)"}
        severity: critical                # of this rule's findings
        action: rollback                  # overrides the action of this rule's findings
        remediation: "Follow runbook GPU-7."

Bounds (``driver``, ``cuda_driver`` = the CUDA the driver supports, ``cuda`` =
installed toolkits, ``cudnn``, ``tensorrt``): ``min`` a floor (below -> upgrade);
``max`` a ceiling and ``deny`` a deny list (-> rollback), both by prefix;
``version`` a pin (prefix); ``allow`` the only accepted versions; ``target`` the
version remediation names for an upgrade or a rollback; ``required: false`` makes a
missing component acceptable.

Several files merge in the order given (``load_policies``): stacks and rules of
later files follow earlier ones, and a later stack or rule whose name or id is
already defined **replaces** the earlier one in place (``Policy.replaced`` lists
each replacement). A rule's ``stack`` may name a stack from any of the files.
Every rule, bound and key keeps its ``file:line`` so findings can cite it.

The package owns the language (``model``), the files that write it (``files``: one file
read and validated, several merged) and waivers (``waivers``: read, and applied to
findings). It imports the foundations, ``auditor.inventory`` (selectors match hosts) and
``auditor.knowledge`` (a bound names a TensorRT release the knowledge must know).
"""
