"""My device: "is my laptop compliant?", 「我部電腦合唔合規」.

The person's Intune-managed devices (name, OS and version, compliant or why not, last
check-in, encryption), read through the directory port (`Directory.managed_devices`) for
the actor's own account only; one audit record per check (`device_check`). Without Intune
(AD alone) the person is told so and offered a person. Engineers see the same in `lookup`.
"""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn, human_choice
from bot.i18n import Translator, catalogue
from bot.integrations.directory import ManagedDevice, PolicyViolation
from bot.messages import Reply
from bot.store.conversations import PendingFlow


def setting_name(t: Translator, setting: str) -> str:
    """A failed compliance setting in words (`BitLockerEnabled` -> "BitLocker is off")."""
    key = f"device.setting.{setting}"
    return t(key) if key in catalogue(t.lang) else setting


def device_line(turn: Turn, device: ManagedDevice) -> str:
    t = turn.t
    state_key = f"device.state.{device.compliance}"
    state = t(state_key) if state_key in catalogue(t.lang) else device.compliance
    encrypted = (
        "device.encrypted_unknown"
        if device.encrypted is None
        else "device.encrypted_yes"
        if device.encrypted
        else "device.encrypted_no"
    )
    line = t(
        "device.line",
        name=device.name,
        os=f"{device.os} {device.os_version}".strip(),
        state=state,
        checked=turn.local_time(device.last_check_in) if device.last_check_in else "—",
        encrypted=t(encrypted),
    )
    if device.failing:
        reasons = ", ".join(setting_name(t, s) for s in device.failing)
        line += "\n   " + t("device.failing", reasons=reasons)
    return line


class MyDevice:
    """Your devices and whether they are compliant: `is my laptop compliant?`,
    `我部電腦合唔合規`."""

    intent: ClassVar[str] = "my_device"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await turn.account("device_check")
        try:
            devices = await turn.services.directory.managed_devices(account)
        except PolicyViolation as exc:
            turn.audit(
                action="device_check",
                outcome="refused",
                target=account,
                actor=account,
                reason=f"no Intune: {exc.detail}",
            )
            return [Reply(t("device.no_intune"), choices=(human_choice(t),), private=True)]
        turn.audit(
            action="device_check",
            outcome="done",
            target=account,
            actor=account,
            reason=f"{len(devices)} devices",
        )
        if not devices:
            return [Reply(t("device.none"), choices=(human_choice(t),), private=True)]
        lines = [t("device.intro", count=len(devices))]
        lines += [f"{n}. {device_line(turn, d)}" for n, d in enumerate(devices, 1)]
        bad = [d for d in devices if d.compliance != "compliant"]
        if bad:
            lines.append(t("device.fix"))
            return [Reply("\n".join(lines), choices=(human_choice(t),), private=True)]
        lines.append(t("device.all_good"))
        return [Reply("\n".join(lines), private=True)]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
