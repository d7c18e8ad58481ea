"""The domain: session model, lifecycle, validation rules and errors.

Imports nothing outside the standard library (a test enforces it).
"""
