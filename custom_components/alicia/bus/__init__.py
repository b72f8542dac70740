"""The alicia bus contract (docs/protocol.md, docs/security.md), once, for both sides.

Pure Python (the standard library and `cryptography`), no Home Assistant, relative
imports only: the integration imports it as `custom_components.alicia.bus`, and
the add-on's `wyoming_services` as `alicia_bus`, the same files mapped into its
wheel by pyproject.toml.
"""

PROTOCOL_VERSION = 1
