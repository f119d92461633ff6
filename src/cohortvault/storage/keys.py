"""The key hierarchy: one master key outside the database, one key per area inside it.

    master key (age X25519 identity: key file with mode 0600, or COHORTVAULT_MASTER_KEY)
      └── wraps, for every area, {age X25519 identity, 32-byte checksum key}   (AreaKey rows)
            └── encrypts every blob of that area                               (age format)

All encryption is age (the pyrage binding); checksums are HMAC-SHA-256. The master key can be
split into Shamir shares (SLIP-39 mnemonics) for paper backups and rebuilt from them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import bech32
import pyrage
import shamir_mnemonic
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from shamir_mnemonic.share import Share

from cohortvault.access.policy import Area
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.storage.keyfile import (
    MasterKeyError,
    fsync_directory,
    parse_identity,
    write_identity_file,
)
from cohortvault.storage.models import AreaKey

IDENTITY_PREFIX = "age-secret-key-"
_cache: dict[int, AreaSecrets] = {}
_cache_lock = threading.Lock()
_held = threading.local()


@dataclass(frozen=True)
class AreaSecrets:
    area: str
    key_id: int
    identity: pyrage.x25519.Identity
    recipient: pyrage.x25519.Recipient
    mac_key: bytes


# --- the master key -------------------------------------------------------------------------


def master_key_path() -> Path:
    return Path(settings.COHORTVAULT_MASTER_KEY_FILE)


@contextlib.contextmanager
def rotation_lock(*, exclusive: bool, blocking: bool = True) -> Iterator[bool]:
    """The lock a rotation holds exclusively, and key creation holds shared, so that no area
    key is ever wrapped under a master key that is about to be replaced. Yields whether it was
    obtained (always, when ``blocking``)."""
    held = getattr(_held, "mode", None)
    if held is not None:  # this thread holds it already
        if exclusive and held == "shared":
            raise Conflict("A master-key rotation cannot start while this thread creates a key.")
        yield not (exclusive and not blocking)
        return
    path = master_key_path().with_name(master_key_path().name + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode if blocking else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        _held.mode = "exclusive" if exclusive else "shared"
        try:
            yield True
        finally:
            _held.mode = None
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def master_identity() -> pyrage.x25519.Identity:
    """The instance's master key, from COHORTVAULT_MASTER_KEY or the key file."""
    if settings.CONFIG.master_key:
        return parse_identity(settings.CONFIG.master_key)
    path = master_key_path()
    finish_interrupted_rotation(path)
    try:
        return parse_identity(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        raise MasterKeyError(
            f"master key file {path} is missing (recover it with `cohortvault keys recover`)"
        ) from None


def _master_for(recipient: str) -> pyrage.x25519.Identity:
    """The master key a row was wrapped with: the current one, or during the last step of a
    rotation (database committed, key file not yet renamed) the pending new one."""
    current = master_identity()
    if str(current.to_public()) == recipient or settings.CONFIG.master_key:
        return current
    pending = master_key_path().with_name(master_key_path().name + ".new")
    with contextlib.suppress(FileNotFoundError, MasterKeyError):
        candidate = parse_identity(pending.read_text(encoding="ascii"))
        if str(candidate.to_public()) == recipient:
            return candidate
    return current


def identity_bytes(identity: pyrage.x25519.Identity) -> bytes:
    """The 32 secret bytes inside an ``AGE-SECRET-KEY-1…`` string (bech32)."""
    hrp, data = bech32.bech32_decode(str(identity).lower())
    if hrp != IDENTITY_PREFIX or data is None:
        raise MasterKeyError("the master key is not an age X25519 identity")
    raw = bech32.convertbits(data, 5, 8, False)
    if raw is None or len(raw) != 32:
        raise MasterKeyError("the master key has the wrong length")
    return bytes(raw)


def identity_from_bytes(raw: bytes) -> pyrage.x25519.Identity:
    words = bech32.convertbits(list(raw), 8, 5, True)
    text = bech32.bech32_encode(IDENTITY_PREFIX, words).upper()  # type: ignore[arg-type]
    return pyrage.x25519.Identity.from_str(text)


# --- area keys ------------------------------------------------------------------------------


def _wrap(
    identity: pyrage.x25519.Identity, mac_key: bytes, master: pyrage.x25519.Recipient
) -> bytes:
    payload = json.dumps({"identity": str(identity), "mac_key": mac_key.hex()}).encode("ascii")
    return bytes(pyrage.encrypt(payload, [master]))


def _unwrap(row: AreaKey, master: pyrage.x25519.Identity) -> AreaSecrets:
    if row.destroyed_at is not None:
        raise NotFound(f"The key of {row.area} was destroyed; its content is gone.")
    if row.master_recipient != str(master.to_public()):
        raise MasterKeyError(
            f"the key of {row.area} was wrapped with master key {row.master_recipient}, "
            f"not the configured one"
        )
    try:
        payload = json.loads(pyrage.decrypt(bytes(row.wrapped), [master]))
    except pyrage.DecryptError as exc:
        raise MasterKeyError(f"cannot unwrap the key of {row.area}: {exc}") from None
    identity = pyrage.x25519.Identity.from_str(payload["identity"])
    return AreaSecrets(
        area=row.area,
        key_id=row.pk,
        identity=identity,
        recipient=identity.to_public(),
        mac_key=bytes.fromhex(payload["mac_key"]),
    )


def ensure_area_key(area: Area) -> AreaKey:
    """The area's key, generated now if the area has none yet."""
    row = AreaKey.objects.filter(area=area.path).first()
    if row is not None:
        return row
    identity = pyrage.x25519.Identity.generate()
    locking = (
        contextlib.nullcontext(True)
        if settings.CONFIG.master_key
        else rotation_lock(exclusive=False)
    )
    with locking, transaction.atomic():
        master = master_identity().to_public()
        row, _ = AreaKey.objects.get_or_create(
            area=area.path,
            defaults={
                "recipient": str(identity.to_public()),
                "master_recipient": str(master),
                "wrapped": _wrap(identity, secrets.token_bytes(32), master),
            },
        )
    return row


def secrets_for(row: AreaKey) -> AreaSecrets:
    """The unwrapped secrets of an area key (kept in memory once unwrapped)."""
    with _cache_lock:
        cached = _cache.get(row.pk)
    if cached is not None and row.destroyed_at is None and str(cached.recipient) == row.recipient:
        return cached
    unwrapped = _unwrap(row, _master_for(row.master_recipient))
    with _cache_lock:
        _cache[row.pk] = unwrapped
    return unwrapped


def forget_cached_keys() -> None:
    with _cache_lock:
        _cache.clear()


def destroy_area_key(area_root: str) -> int:
    """Crypto-shred an area: its key is erased, so none of its blobs can ever be read again.
    Returns the number of blobs made unreadable (``storage gc`` then removes them)."""
    with transaction.atomic():
        row = AreaKey.objects.select_for_update().filter(area=area_root).first()
        if row is None:
            raise NotFound(f"{area_root} has no key.")
        if row.destroyed_at is not None:
            raise Conflict(f"The key of {area_root} was already destroyed.")
        row.wrapped = b""
        row.destroyed_at = timezone.now()
        row.save(update_fields=["wrapped", "destroyed_at"])
        count = row.blobs.count()
    forget_cached_keys()
    return count


# --- rotation and paper backup --------------------------------------------------------------


def finish_interrupted_rotation(path: Path) -> None:
    """Complete or undo a master-key rotation that stopped between its steps; leave one that is
    still running (it holds the rotation lock) alone."""
    pending = path.with_name(path.name + ".new")
    if not pending.exists():
        return
    with rotation_lock(exclusive=True, blocking=False) as idle:
        if not idle or not pending.exists():
            return
        new = parse_identity(pending.read_text(encoding="ascii"))
        in_use = set(AreaKey.objects.values_list("master_recipient", flat=True).distinct())
        if in_use and in_use <= {str(new.to_public())}:
            os.replace(pending, path)  # the database already moved to the new key
            fsync_directory(path.parent)
        else:
            pending.unlink()


def rotate_master() -> pyrage.x25519.Recipient:
    """Re-wrap every area key under a new master key, then replace the key file.

    Order: new key file written aside, every area key re-wrapped in one transaction, then the
    file renamed over the old one. A crash at any point leaves a state ``master_identity``
    resolves (``finish_interrupted_rotation``).
    """
    if settings.CONFIG.master_key:
        raise Conflict(
            "The master key comes from COHORTVAULT_MASTER_KEY; rotate it in your secret store."
        )
    with rotation_lock(exclusive=True):
        old = master_identity()
        new = pyrage.x25519.Identity.generate()
        path = master_key_path()
        pending = path.with_name(path.name + ".new")
        write_identity_file(pending, new)
        new_recipient = new.to_public()
        with transaction.atomic():
            for row in AreaKey.objects.select_for_update().filter(destroyed_at__isnull=True):
                unwrapped = _unwrap(row, old)
                row.wrapped = _wrap(unwrapped.identity, unwrapped.mac_key, new_recipient)
                row.master_recipient = str(new_recipient)
                row.save(update_fields=["wrapped", "master_recipient"])
            AreaKey.objects.filter(destroyed_at__isnull=False).update(
                master_recipient=str(new_recipient)
            )
        os.replace(pending, path)
        fsync_directory(path.parent)
    forget_cached_keys()
    return new_recipient


def paper_shares(*, threshold: int, shares: int) -> list[str]:
    """The master key as SLIP-39 mnemonics: any ``threshold`` of the ``shares`` rebuild it."""
    if not 1 <= threshold <= shares <= 16:
        raise Invalid("Need 1 ≤ threshold ≤ shares ≤ 16.")
    if threshold == 1 and shares > 1:
        raise Invalid("A threshold of 1 would make every share a full copy; use at least 2.")
    groups = shamir_mnemonic.generate_mnemonics(
        group_threshold=1,
        groups=[(threshold, shares)],
        master_secret=identity_bytes(master_identity()),
    )
    return list(groups[0])


def recover_identity(mnemonics: Iterable[str]) -> pyrage.x25519.Identity:
    """Rebuild the master key from enough SLIP-39 shares (extra shares are fine)."""
    try:
        chosen: dict[int, str] = {}
        threshold = 0
        for mnemonic in (" ".join(m.split()) for m in mnemonics):
            share = Share.from_mnemonic(mnemonic)
            threshold = share.member_threshold
            chosen.setdefault(share.index, mnemonic)
        raw = shamir_mnemonic.combine_mnemonics(list(chosen.values())[: max(threshold, 1)])
        return identity_from_bytes(raw)
    except shamir_mnemonic.MnemonicError as exc:
        raise Invalid(f"The shares do not combine: {exc}") from None
    except (pyrage.IdentityError, ValueError, TypeError) as exc:
        raise Invalid(f"The shares do not hold a cohortvault master key: {exc}") from None


def expected_master_recipients() -> set[str]:
    return set(AreaKey.objects.values_list("master_recipient", flat=True).distinct())
