"""A host's software stack in a few short strings (not a policy stack): what reports, metrics and diffs compare.

Every value comes from the parsed (already cleaned) facts; ``None`` means the probe
could not tell or the component is absent. Writers still escape these for their medium.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from auditor.facts.model import Facts
from auditor.records import record


@record
class StackSummary:
    """The versions that decide a node's verdicts, as the host reported them."""

    driver: str | None = None
    """User-space driver (``535.104.05``)."""
    kernel_module: str | None = None
    """Loaded kernel module, when the probe could read it."""
    cuda_driver: str | None = None
    """Newest CUDA the driver supports (NVML), not a toolkit."""
    cuda: str | None = None
    """The default CUDA toolkit on disk (``/usr/local/cuda``, else the newest)."""
    cuda_toolkits: tuple[str, ...] = ()
    """Every toolkit version on disk."""
    cudnn: str | None = None
    tensorrt: str | None = None
    gpu: str | None = None
    """The most common GPU model (``NVIDIA A100-SXM4-80GB``)."""
    gpu_count: int | None = None
    os: str | None = None

    def as_dict(self) -> dict[str, str]:
        """Non-empty fields as strings (toolkits joined by ", "), for diffs and labels."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            if isinstance(value, (list, tuple)):
                value = ", ".join(value)
            if value not in (None, ""):
                out[key] = str(value)
        return out

    @property
    def gpus(self) -> str:
        """``"8x NVIDIA A100-SXM4-80GB"``, ``"none"`` or ``""`` (unknown)."""
        if self.gpu_count == 0:
            return "none"
        if not self.gpu:
            return "" if self.gpu_count is None else f"{self.gpu_count}x ?"
        return f"{self.gpu_count}x {self.gpu}" if self.gpu_count else self.gpu


def stack_of(facts: Facts | None) -> StackSummary:
    """The stack a host's facts describe (all ``None`` without facts)."""
    if facts is None:
        return StackSummary()
    models = Counter(gpu.name for gpu in facts.gpus.devices if gpu.name)
    toolkit = facts.cuda.default_toolkit
    return StackSummary(
        driver=facts.driver.version,
        kernel_module=facts.driver.kernel_module,
        cuda_driver=facts.driver.cuda_version,
        cuda=toolkit.version if toolkit else None,
        cuda_toolkits=tuple(t.version for t in facts.cuda.toolkits if t.version),
        cudnn=facts.cudnn.version,
        tensorrt=facts.tensorrt.version,
        gpu=models.most_common(1)[0][0] if models else None,
        gpu_count=facts.gpus.count,
        os=facts.host.os_name,
    )
