"""The attacker-view suites share the integration's fixtures (HA, mqtt_mock, the entry)."""

from tests.integration.conftest import (
    auto_enable_custom_integrations,
    entity_registry_enabled_by_default,
    entry,
    entry_options,
    mqtt_client_mock,
    no_deprecated_use,
    snapshot,
)

__all__ = [
    "auto_enable_custom_integrations",
    "entity_registry_enabled_by_default",
    "entry",
    "entry_options",
    "mqtt_client_mock",
    "no_deprecated_use",
    "snapshot",
]
