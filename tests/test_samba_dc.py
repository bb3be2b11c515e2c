"""Pins the Active Directory behaviour the LDAP backend relies on, against a real Samba DC.

Every test puts back what it changes: the session shares one DC (see tests/samba_dc.py).
"""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import pytest

from tests.samba_dc import BASE_DN, PASSWORD, DomainController, make_ca, unicode_pwd

# isort: split
# ldap3 after tests.samba_dc, which imports it with pyasn1's deprecation warnings silenced.
import ldap3
from ldap3.core.exceptions import (
    LDAPInsufficientAccessRightsResult,
    LDAPSocketOpenError,
    LDAPStrongerAuthRequiredResult,
)
from ldap3.utils.conv import escape_filter_chars

LOCKED_OUT = 0x10  # msDS-User-Account-Control-Computed UF_LOCKOUT
PASSWORD_EXPIRED = 0x800000  # msDS-User-Account-Control-Computed UF_PASSWORD_EXPIRED
NEW_PASSWORD = "Fresh-Pass-2026!q"


def _int(dc: DomainController, sam: str, attr: str) -> int:
    """An integer attribute as AD stores it (absent, like a never-locked lockoutTime: 0)."""
    return int(dc.read(sam, attr).get(attr, [b"0"])[0])


def _service(dc: DomainController) -> ldap3.Connection:
    return dc.connect(dc.service_dn, dc.service_password)


def test_three_bad_binds_lock_the_account_and_admin_unlock_clears_it(
    dc: DomainController,
) -> None:
    sam = "lee.siuming"
    try:
        assert _int(dc, sam, "lockoutTime") == 0
        assert [dc.bind(sam, "Wrong-Pass-2026!") for _ in range(3)] == ["52e"] * 3
        assert _int(dc, sam, "lockoutTime") != 0
        assert _int(dc, sam, "msDS-User-Account-Control-Computed") & LOCKED_OUT
        assert dc.bind(sam, PASSWORD) == "775"  # the right password, but locked

        dc.unlock(sam)
        assert _int(dc, sam, "lockoutTime") == 0
        assert _int(dc, sam, "badPwdCount") == 0
        assert not _int(dc, sam, "msDS-User-Account-Control-Computed") & LOCKED_OUT
        assert dc.bind(sam, PASSWORD) == "ok"
    finally:
        dc.unlock(sam)


def test_lock_helper_and_service_account_unlock(dc: DomainController) -> None:
    sam = "burst01"
    try:
        dc.lock(sam)
        assert dc.bind(sam, PASSWORD) == "775"
        conn = _service(dc)
        try:
            conn.modify(dc.dn(sam), {"lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])]})
        finally:
            conn.unbind()
        assert dc.bind(sam, PASSWORD) == "ok"
    finally:
        dc.unlock(sam)


def test_service_account_resets_a_staff_password_with_must_change_in_one_modify(
    dc: DomainController,
) -> None:
    sam = "chan.taiman"
    conn = _service(dc)
    try:
        conn.modify(
            dc.dn(sam),
            {
                "unicodePwd": [(ldap3.MODIFY_REPLACE, [unicode_pwd(NEW_PASSWORD)])],
                "pwdLastSet": [(ldap3.MODIFY_REPLACE, ["0"])],
            },
        )
        assert dc.read(sam, "pwdLastSet")["pwdLastSet"] == [b"0"]
        assert dc.bind(sam, PASSWORD) == "52e"  # old password is gone at once
        assert dc.bind(sam, NEW_PASSWORD) == "773"  # right, but must be changed
        assert _int(dc, sam, "msDS-User-Account-Control-Computed") & PASSWORD_EXPIRED
        assert _int(dc, sam, "msDS-UserPasswordExpiryTimeComputed") == 0
        # the delegation covers lockoutTime too
        conn.modify(dc.dn(sam), {"lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])]})
    finally:
        conn.unbind()
        dc.set_password(sam, PASSWORD)
        dc.unlock(sam)
    assert dc.bind(sam, PASSWORD) == "ok"
    assert _int(dc, sam, "msDS-UserPasswordExpiryTimeComputed") > _int(dc, sam, "pwdLastSet")


def test_service_account_is_refused_outside_ou_staff(dc: DomainController) -> None:
    sam = "outside.user"
    conn = _service(dc)
    try:
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            conn.modify(
                dc.dn(sam), {"unicodePwd": [(ldap3.MODIFY_REPLACE, [unicode_pwd(NEW_PASSWORD)])]}
            )
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            conn.modify(dc.dn(sam), {"lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])]})
        # and inside OU=Staff it may write only what it was delegated
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            conn.modify(dc.dn("ho.kawai"), {"mail": [(ldap3.MODIFY_REPLACE, ["x@example.com"])]})
    finally:
        conn.unbind()
    assert dc.bind(sam, PASSWORD) == "ok"
    assert dc.read("ho.kawai", "mail")["mail"] == [b"ho.kawai@corp.example.com"]


def test_in_chain_search_finds_the_nested_domain_admin(dc: DomainController) -> None:
    admins = f"CN=Domain Admins,CN=Users,{BASE_DN}"
    conn = _service(dc)
    try:
        conn.search(
            BASE_DN,
            f"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:={admins}))",
            attributes=["sAMAccountName"],
        )
        found = {str(e.sAMAccountName) for e in conn.entries}
    finally:
        conn.unbind()
    assert "wong.admin" in found
    assert "chan.taiman" not in found
    # only through IT Ops Admins, so no adminCount: the backend must not rely on it
    assert dc.read("wong.admin", "memberOf")["memberOf"] == [
        f"CN=IT Ops Admins,OU=Groups,{BASE_DN}".encode()
    ]
    assert "adminCount" not in dc.read("wong.admin", "adminCount")


def test_escaped_star_matches_nothing_and_shared_mail_is_ambiguous(dc: DomainController) -> None:
    conn = _service(dc)
    try:
        conn.search(BASE_DN, f"(mail={escape_filter_chars('*')})", attributes=["mail"])
        assert conn.entries == []
        conn.search(BASE_DN, "(mail=*)", attributes=["mail"])
        assert len(conn.entries) > 20  # the unescaped wildcard would match everyone
        conn.search(BASE_DN, "(mail=shared@corp.example.com)", attributes=["sAMAccountName"])
        assert sorted(str(e.sAMAccountName) for e in conn.entries) == ["dup.one", "dup.two"]
    finally:
        conn.unbind()


def test_bind_codes_for_disabled_and_must_change(dc: DomainController) -> None:
    assert dc.bind("cheung.disabled", PASSWORD) == "533"
    try:
        dc.set_password("ho.kawai", PASSWORD, must_change=True)
        assert dc.bind("ho.kawai", PASSWORD) == "773"
    finally:
        dc.set_password("ho.kawai", PASSWORD)
    assert dc.bind("ho.kawai", PASSWORD) == "ok"


def test_tls_validates_against_the_fixture_ca_only(dc: DomainController, tmp_path: Path) -> None:
    conn = _service(dc)  # CERT_REQUIRED, the fixture's CA, hostname "localhost"
    assert conn.bound
    conn.unbind()

    other_ca, _ = make_ca(tmp_path, "other-ca")
    # ldap3 drops the failed TLS socket unclosed: collect it here, warnings off.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            dc.connect(dc.service_dn, dc.service_password, ca_file=other_ca)
            error = ""
        except LDAPSocketOpenError as exc:
            error = str(exc)
        gc.collect()
    assert "CERTIFICATE_VERIFY_FAILED" in error

    # plain LDAP refuses a simple bind
    plain = ldap3.Connection(
        ldap3.Server("ldap://localhost:389", get_info=ldap3.NONE),
        user=dc.service_dn,
        password=dc.service_password,
        raise_exceptions=True,
    )
    with pytest.raises(LDAPStrongerAuthRequiredResult):
        plain.bind()
    plain.unbind()


def test_stop_and_start(dc: DomainController) -> None:
    # A TLS socket to the DC that ldap3 left unclosed dies with the DC and may be
    # collected here; its ResourceWarning is not this test's (see conftest.py).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            dc.stop()
            assert not dc.running()
            with pytest.raises(LDAPSocketOpenError):
                dc.bind("ho.kawai", PASSWORD)
        finally:
            dc.start()
        gc.collect()
    assert dc.running()
    assert dc.bind("ho.kawai", PASSWORD) == "ok"
