"""The built-in demo: its simulated fleet, policies and waivers (``auditor/demo/``, shipped with the package)."""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).parent.parent / "demo"

DEMO_FLEET = DEMO_DIR / "demo-fleet.yaml"

DEMO_POLICY = DEMO_DIR / "demo.yaml"

DEMO_POLICIES = (DEMO_POLICY, DEMO_DIR / "demo-site.yaml")  # merged in this order

DEMO_WAIVERS = DEMO_DIR / "demo-waivers.yaml"
