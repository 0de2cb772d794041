"""Which library registers a TensorRT plugin, and what to install or load when a host's registry lacks it.

Sources (docs/research/workflows.md B, "Plugins: which library ships which plugin"):

* NVIDIA's standard plugins are built from the ``plugin/`` directory of NVIDIA/TensorRT into
  ``libnvinfer_plugin``; its README lists each plugin's registered name and versions
  (``STANDARD`` copies that table, ``README``);
* ``initLibNvInferPlugins`` (Python: ``trt.init_libnvinfer_plugins(logger, "")``) registers "all the
  existing TensorRT plugins" of that library, "the API for the Nvidia provided TensorRT plugins"
  (``INIT``);
* the library is ``libnvinfer_plugin.so.<major>``, the Debian package ``libnvinfer-plugin<major>``
  (docs/research/tensorrt-compat.md 1.10); the lean and dispatch runtimes ship no
  ``libnvinfer_plugin`` and no ``init_libnvinfer_plugins`` (recorded on an H200, lean 11.4);
* ``libnvinfer_vc_plugin.so.<major>`` (package ``libnvinfer-vc-plugin<major>``), shipped in the lean
  wheel, registered ``ROIAlign_TRT`` version 2 when loaded (recorded).

A plugin of another name is not NVIDIA's: only the site knows which library provides it.
"""

from __future__ import annotations

from auditor.records import record

README = "https://github.com/NVIDIA/TensorRT/blob/147005ffe1dc447bec8af9601539a9d464ca77fd/plugin/README.md"
INIT = "https://docs.nvidia.com/deeplearning/tensorrt/api/c_api/_nv_infer_plugin_8h.html"
RECORDED = "tests/fixtures/real/workflows/tensorrt/plugins-h200-lean-11.4-cp312.txt"

STANDARD: dict[str, tuple[str, ...]] = {
    "BatchTilePlugin_TRT": ("1",),
    "BatchedNMS_TRT": ("1",),
    "BatchedNMSDynamic_TRT": ("1",),
    "CustomQKVToContextPluginDynamic": ("1", "2", "3"),
    "Clip_TRT": ("1",),
    "CoordConvAC": ("1",),
    "CropAndResize": ("1",),
    "CropAndResizeDynamic": ("1",),
    "DecodeBbox3DPlugin": ("1",),
    "DetectionLayer_TRT": ("1",),
    "DisentangledAttention_TRT": ("1",),
    "EfficientNMS_TRT": ("1",),
    "EfficientNMS_ONNX_TRT": ("1",),
    "CustomEmbLayerNormPluginDynamic": ("1", "2"),
    "CustomFCPluginDynamic": ("1",),
    "FlattenConcat_TRT": ("1",),
    "CustomGeluPluginDynamic": ("1",),
    "GenerateDetection_TRT": ("1",),
    "GridAnchor_TRT": ("1",),
    "GridAnchorRect_TRT": ("1",),
    "GroupNormalizationPlugin": ("1",),
    "InstanceNormalization_TRT": ("1",),
    "LReLU_TRT": ("1",),
    "ModulatedDeformConv2d": ("1",),
    "MultilevelCropAndResize_TRT": ("1",),
    "MultilevelProposeROI_TRT": ("1",),
    "MultiscaleDeformableAttnPlugin_TRT": ("1",),
    "NMS_TRT": ("1",),
    "NMSDynamic_TRT": ("1",),
    "Normalize_TRT": ("1",),
    "RPROI_TRT": ("1",),
    "PillarScatterPlugin": ("1",),
    "PriorBox_TRT": ("1",),
    "ProposalLayer_TRT": ("1",),
    "Proposal": ("1",),
    "ProposalDynamic": ("1",),
    "PyramidROIAlign_TRT": ("1",),
    "Region_TRT": ("1",),
    "Reorg_TRT": ("2",),
    "ROIAlign_TRT": ("1",),
    "ResizeNearest_TRT": ("1",),
    "ScatterElements": ("1",),
    "ScatterND": ("1",),
    "CustomSkipLayerNormPluginDynamic": ("1", "2", "3"),
    "SpecialSlice_TRT": ("1",),
    "Split": ("1",),
    "VoxelGeneratorPlugin": ("1",),
}
"""The plugins libnvinfer_plugin registers: name -> versions (NVIDIA/TensorRT plugin/README.md at ``README``)."""
VERSION_COMPATIBLE: dict[str, tuple[str, ...]] = {"ROIAlign_TRT": ("2",)}
"""What ``libnvinfer_vc_plugin`` registered when the lean runtime loaded it (recorded)."""


@record
class PluginHome:
    """Where a plugin comes from: the library, its package, how to load it, and the sources saying so."""

    library: str
    package: str
    load: str
    source: str


def plugin_home(name: str, tensorrt_major: int | None) -> PluginHome | None:
    """The NVIDIA library that registers plugin ``name`` for TensorRT ``tensorrt_major``; None when NVIDIA
    ships no plugin of that name (a site's own plugin)."""
    major = str(tensorrt_major) if tensorrt_major else "<major>"
    if name in STANDARD:
        return PluginHome(
            library=f"libnvinfer_plugin.so.{major}",
            package=f"libnvinfer-plugin{major}",
            load='trt.init_libnvinfer_plugins(logger, "") (C++: initLibNvInferPlugins) in the full TensorRT runtime',
            source=f"{README}; {INIT}",
        )
    if name in VERSION_COMPATIBLE:
        return PluginHome(
            library=f"libnvinfer_vc_plugin.so.{major}",
            package=f"libnvinfer-vc-plugin{major}",
            load="trt.get_plugin_registry().load_library(PATH)",
            source=RECORDED,
        )
    return None
