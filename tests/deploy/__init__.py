"""Validation of the Docker Compose stack and images with real tools that need no engine."""
