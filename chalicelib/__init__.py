"""Sartiq Products API: the application package that Chalice deploys beside app.py."""
