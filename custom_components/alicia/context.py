"""What the hub's parts may use of the hub: interfaces, so that no part imports the hub."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from .admission import Admission, Audit
    from .bus.policy import Mode
    from .device import AliciaDevice, DeviceRecord


class DeviceCommands(Protocol):
    """What an entity may send: a command to its own device, on one of its capabilities."""

    async def __call__(
        self, capability: str, action: str, params: dict[str, Any] | None = None
    ) -> None:
        """Send the command envelope."""


class SecurityView(Protocol):
    """What the hub's entities and diagnostics show of admission: read only."""

    @property
    def mode(self) -> Mode:
        """The security mode in force."""

    @property
    def fingerprint(self) -> str:
        """The hub's key's fingerprint."""

    @property
    def audit(self) -> Audit:
        """What security refused or flagged."""


class HubContext(Protocol):
    """What the parts that read the bus see: the devices, their signals and events."""

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    prefix: str
    devices: dict[str, AliciaDevice]
    admission: Admission

    @property
    def heartbeat_factor(self) -> float:
        """A device is unavailable after this many heartbeat intervals of silence."""

    def key_of(self, source: str) -> str | None:
        """The approved key of a sender, if it has one."""

    def may_act(self, source: str) -> bool:
        """Whether a sender's word may make HA act on the home (by the key that verifies it)."""

    def disabled(self, device_id: str) -> bool:
        """Whether the user disabled the device in HA, or the one whose key it speaks by."""

    def fire(self, kind: str, device_id: str, **data: Any) -> None:
        """An HA event for automations."""

    def device_changed(self, device_id: str) -> None:
        """Tell a device's entities to refresh."""

    def save(self) -> None:
        """Store the devices soon."""


class DeviceLifecycle(HubContext, Protocol):
    """What approval sees besides: adding, updating and dropping devices, and saving them."""

    @property
    def auto_approve(self) -> bool:
        """Whether new devices are trusted without asking."""

    def add_device(self, record: DeviceRecord) -> AliciaDevice:
        """A newly trusted device: its HA device and entities."""

    def update_device(self, device: AliciaDevice, record: DeviceRecord) -> None:
        """A known device registered again."""

    def drop_device(self, device_id: str) -> None:
        """Remove an approved device from HA."""

    def publish_trust(self) -> None:
        """Tell the bridges which device keys are approved."""

    def hub_changed(self) -> None:
        """Tell the hub's own entities to refresh."""
