"""One `Directory` over AD and Entra ID together, so handlers never ask which one.

- An account is looked up in AD first: AD is the source of authority for synced users, and
  it alone knows lock state, password expiry and on-prem passwords. A user AD does not
  know is looked up in Entra (a cloud-only account).
- Licences always come from Entra (AD has none); for an AD account the Entra object is
  found by the same verified email.
- Groups are AD's transitive groups plus Entra's (cloud groups and synced ones), by name.
- Unlock and password reset go to the account's own directory: AD for on-prem (synced)
  accounts, Entra for cloud-only ones. Temporary Access Passes and group changes are
  Entra's, and so is revoking sign-in sessions (for synced accounts too); a forced password
  change goes to the account's own directory. The lockout-burst count is AD's (Entra does
  not expose smart lockout).
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from bot.integrations.directory import (
    Account,
    Directory,
    Group,
    Licence,
    ManagedDevice,
    NotFound,
    PasswordPolicy,
    SignInMethod,
    SignInTrouble,
)

if TYPE_CHECKING:
    from bot.integrations.graph import GraphDirectory


class CombinedDirectory:
    name = "ldap+graph"

    def __init__(self, ad: Directory, cloud: GraphDirectory) -> None:
        self.ad = ad
        self.cloud = cloud

    def _for(self, account: Account) -> Directory:
        return self.ad if account.source == "onprem" else self.cloud

    async def _cloud_twin(self, account: Account) -> Account:
        """The Entra side of an AD account: the same account with its Entra object id (found
        by the verified email with one cached id read), for licences, groups and group adds."""
        if account.source == "cloud":
            return account
        return dataclasses.replace(
            account, directory_id=await self.cloud.user_id(account.email), source="cloud"
        )

    async def find_by_email(self, email: str) -> Account:
        try:
            return await self.ad.find_by_email(email)
        except NotFound:
            account = await self.cloud.find_by_email(email)
            if account.source == "onprem":  # synced, but AD cannot see it: act on neither
                raise NotFound("synced account missing from AD") from None
            return account

    async def find_by_id(self, directory_id: str) -> Account:
        try:
            return await self.ad.find_by_id(directory_id)
        except NotFound:
            return await self.cloud.find_by_id(directory_id)

    async def licences(self, account: Account) -> tuple[Licence, ...]:
        try:
            twin = await self._cloud_twin(account)
        except NotFound:
            return ()
        return await self.cloud.licences(twin)

    async def groups(self, account: Account) -> tuple[str, ...]:
        names = set(await self._for(account).groups(account))
        if account.source == "onprem":
            with contextlib.suppress(NotFound):
                names |= set(await self.cloud.groups(await self._cloud_twin(account)))
        return tuple(sorted(names))

    async def unlock(self, account: Account) -> None:
        await self._for(account).unlock(account)

    async def reset_password(self, account: Account, password: str) -> None:
        await self._for(account).reset_password(account, password)

    async def password_policy(self) -> PasswordPolicy:
        return await self.ad.password_policy()

    async def lockouts_since(self, since: datetime) -> int:
        return await self.ad.lockouts_since(since)

    async def issue_temporary_access_pass(self, account: Account, minutes: int) -> str:
        return await self.cloud.issue_temporary_access_pass(account, minutes)

    async def find_group(self, name: str) -> Group:
        return await self.cloud.find_group(name)

    async def add_to_group(self, group: Group, account: Account) -> None:
        await self.cloud.add_to_group(group, await self._cloud_twin(account))

    async def sign_in_trouble(self, account: Account) -> SignInTrouble:
        """AD's wrong-password count and lockout with Entra's failed sign-ins (by the twin)."""
        if account.source == "cloud":
            return await self.cloud.sign_in_trouble(account)
        ad = await self.ad.sign_in_trouble(account)
        try:
            cloud = await self.cloud.sign_in_trouble(await self._cloud_twin(account))
        except NotFound:
            return ad
        return dataclasses.replace(ad, failures=cloud.failures, where=f"{ad.where} + entra")

    async def managed_devices(self, account: Account) -> tuple[ManagedDevice, ...]:
        return await self.cloud.managed_devices(await self._cloud_twin(account))

    async def sign_in_methods(self, account: Account) -> tuple[SignInMethod, ...]:
        return await self.cloud.sign_in_methods(await self._cloud_twin(account))

    async def issue_mfa_pass(self, account: Account, minutes: int) -> str:
        return await self.cloud.issue_mfa_pass(await self._cloud_twin(account), minutes)

    async def remove_sign_in_method(self, account: Account, method: SignInMethod) -> None:
        await self.cloud.remove_sign_in_method(await self._cloud_twin(account), method)

    async def revoke_sessions(self, account: Account) -> None:
        """Sessions are Entra's, for synced accounts too (AD keeps none)."""
        await self.cloud.revoke_sessions(await self._cloud_twin(account))

    async def require_password_change(self, account: Account) -> None:
        await self._for(account).require_password_change(account)
