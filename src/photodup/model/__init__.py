"""OpenCLIP image tower: building it once, the same way for the exporter and the service."""
