"""Event adapters: thin functions from an SQS batch to the services (Lambda entries are in app.py)."""
