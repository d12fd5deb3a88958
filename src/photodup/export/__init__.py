"""``photodup export``: OpenCLIP -> ONNX -> a Triton model repository, checked for parity."""

from photodup.export.options import ExportError, ExportOptions
from photodup.export.repository import ExportResult, export_repository

__all__ = ["ExportError", "ExportOptions", "ExportResult", "export_repository"]
