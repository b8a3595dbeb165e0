"""The local stack: moto server, resources, demo data."""
