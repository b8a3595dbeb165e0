"""Pydantic v2 models of the wire, named as in the API reference."""
