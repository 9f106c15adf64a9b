"""Security: callers and their keys, permissions, limits, TLS and the audit trail.

`security.setup.build_security` builds what the composition root installs.
"""
