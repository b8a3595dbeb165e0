"""Operators' and developers' tools: the local stack, the CLI, the deployment template and policies.

Not shipped: chalice packages app.py and chalicelib/ only, and nothing in chalicelib/ imports this.
"""
