"""Volundr: a self-hosted control plane for AI coding sessions."""
