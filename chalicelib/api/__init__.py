"""HTTP: one blueprint per resource; parse, call a service, render."""
