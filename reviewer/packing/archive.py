"""Safe, streaming reading of an uploaded archive.

Nothing is ever extracted to disk. Members are iterated and only regular files
are read, in chunks, so every limit is enforced on bytes actually produced by
the decompressor, never on sizes declared in headers (which an attacker
controls). The format is detected from the first bytes, not the file name.
"""

from __future__ import annotations

import bz2
import calendar
import lzma
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from .errors import PackingError
from .models import MB, PackOptions

CHUNK = 64 * 1024

KIND_FILE = "file"
KIND_SYMLINK = "symlink"
KIND_HARDLINK = "hardlink"
KIND_SPECIAL = "special"


@dataclass
class Member:
    path: str  # normalised relative POSIX path, common top folder not yet stripped
    kind: str
    data: bytes | None = None  # content, when the caller wanted it and it was small enough
    size: int = 0  # bytes actually read (capped at max_file_bytes + 1)
    too_large: bool = False
    link_target: str = ""
    mtime: float = 0.0  # seconds since the epoch as the archive records it; 0 = unknown


def human(n: int) -> str:
    if n >= 1024 * MB and n % (1024 * MB) == 0:
        return f"{n // (1024 * MB)} GB"
    if n >= MB:
        return f"{n / MB:g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


def detect_format(head: bytes) -> str:
    """Archive kind from magic bytes: zip, gz, bz2, xz, tar; '' if unknown."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gz"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if len(head) >= 512 and _v7_tar_checksum_ok(head[:512]):
        return "tar"
    return ""


def _v7_tar_checksum_ok(block: bytes) -> bool:
    # Pre-POSIX tars have no magic; a valid header checksum is the only signature.
    try:
        stored = int(block[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return stored == computed and block[0] != 0


def safe_member_path(name: str) -> str:
    """Normalise a member name, or reject the whole archive if it could escape."""
    # NUL truncates names in C; newlines would let a name forge structure in the prompt.
    if any(c in name for c in "\x00\n\r"):
        raise PackingError(f"The archive contains a member with an invalid name: {name!r}.")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) >= 2 and unified[1] == ":"):
        raise PackingError(f"The archive contains an absolute path: {name}.")
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PackingError(f"The archive contains a path that escapes its folder: {name}.")
    return "/".join(parts)


class _Limits:
    """Counts real bytes across the whole archive and stops at the configured limits."""

    def __init__(self, options: PackOptions):
        self.options = options
        self.total = 0
        self.members = 0

    def add_bytes(self, n: int) -> None:
        self.total += n
        if self.total > self.options.max_total_bytes:
            raise PackingError(
                "The archive expands to more than "
                f"{human(self.options.max_total_bytes)} when unpacked."
            )

    def add_member(self) -> None:
        self.members += 1
        if self.members > self.options.max_members:
            raise PackingError(f"The archive has more than {self.options.max_members:,} members.")

    def check_ratio(self, produced: int, consumed: int, name: str) -> None:
        if produced > self.options.ratio_check_bytes and produced > self.options.max_ratio * max(
            consumed, 1
        ):
            where = f" at {name}" if name else ""
            raise PackingError(
                "The archive looks like a compression bomb: it expands more than "
                f"{self.options.max_ratio:g} times{where}."
            )


def read_archive(
    path: str | os.PathLike,
    options: PackOptions,
    want: Callable[[str], bool],
) -> list[Member]:
    """All members of the archive; ``want(path)`` says whether to read a file's bytes."""
    return list(iter_archive(path, options, want))


def iter_archive(
    source: str | os.PathLike | BinaryIO,
    options: PackOptions,
    want: Callable[[str], bool],
) -> Iterator[Member]:
    """The members one at a time, so that a caller keeping nothing holds one file at most.

    ``source`` is a path or a seekable binary file (an upload still in memory); a file
    is read from its start and left open.
    """
    with _opened(source) as (fh, size):
        if size > options.max_upload_bytes:
            raise PackingError(
                f"The archive is {human(size)}; the limit is {human(options.max_upload_bytes)}."
            )
        if size == 0:
            raise PackingError("The archive is empty.")
        head = fh.read(512)
        fmt = detect_format(head)
        if not fmt:
            raise PackingError(
                "The upload is not a supported archive (zip, tar, tar.gz, tar.bz2 or tar.xz)."
            )
        fh.seek(0)
        limits = _Limits(options)
        if fmt == "zip":
            reader = _read_zip(fh, size, options, limits, want)
        else:
            reader = _read_tar(fh, fmt, options, limits, want)
        any_file = False
        for member in reader:
            any_file = any_file or member.kind == KIND_FILE
            yield member
    if not any_file:
        raise PackingError("The archive contains no files.")


@contextmanager
def _opened(source):
    if hasattr(source, "read"):
        try:
            size = source.seek(0, os.SEEK_END)
            source.seek(0)
        except (OSError, ValueError):
            raise PackingError("The archive could not be read.")
        yield source, size
        return
    try:
        size = os.path.getsize(source)
        fh = open(source, "rb")  # noqa: SIM115 - closed below, after the caller is done
    except OSError:
        raise PackingError("The archive could not be read.")
    with fh:
        yield fh, size


# ---------------------------------------------------------------- zip


def _zip_declared_entries(fh, size: int) -> int | None:
    """Entry count walked from the central directory itself, without building ZipInfos.

    zipfile parses the whole central directory into objects up front; walking it
    first lets a 4-million-entry directory be refused before that allocation.
    Returns None when the layout is unusual; zipfile then decides.
    """
    tail_len = min(size, 65536 + 22)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        return None
    (cd_size,) = struct.unpack("<I", tail[pos + 12 : pos + 16])
    cd_end = size - tail_len + pos  # the central directory ends where the EOCD starts...
    loc = tail[pos - 20 : pos] if pos >= 20 else b""
    if loc[:4] == b"PK\x06\x07":
        # ...or where the Zip64 end record starts (written with > 65,535 entries).
        rec_at = cd_end - 20 - 56
        if rec_at < 0:
            return None
        fh.seek(rec_at)
        rec = fh.read(56)
        if rec[:4] != b"PK\x06\x06":
            return None
        (cd_size,) = struct.unpack("<Q", rec[40:48])
        cd_end = rec_at
    # Self-extracting archives have a prefix; zipfile tolerates it, so do we.
    start = cd_end - cd_size
    if start < 0:
        return None
    fh.seek(start)
    count = 0
    remaining = cd_size
    buf = b""
    pos = 0
    while True:
        if len(buf) - pos < 46 + 3 * 65535 and remaining > 0:
            more = fh.read(min(1024 * 1024, remaining))
            if not more:
                break
            remaining -= len(more)
            buf = buf[pos:] + more
            pos = 0
        if len(buf) - pos < 46 or buf[pos : pos + 4] != b"PK\x01\x02":
            break
        n, m, k = struct.unpack_from("<HHH", buf, pos + 28)
        pos += 46 + n + m + k
        if pos > len(buf):
            break
        count += 1
    return count


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    # 3 = Unix; other systems carry no file type, and some Unix writers (Python's
    # zipfile.writestr among them) store permission bits without one.
    if info.create_system != 3 or stat.S_IFMT(mode) == 0:
        return KIND_FILE
    if stat.S_ISLNK(mode):
        return KIND_SYMLINK
    if stat.S_ISREG(mode):
        return KIND_FILE
    return KIND_SPECIAL


def _read_zip(fh, size, options, limits: _Limits, want) -> Iterator[Member]:
    declared = _zip_declared_entries(fh, size)
    if declared is not None and declared > options.max_members:
        raise PackingError(f"The archive has more than {options.max_members:,} members.")
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error):
        raise PackingError("The archive is damaged or truncated.")
    with zf:
        infos = zf.infolist()
        # Check every name before reading anything: one bad path rejects the archive.
        paths = []
        for info in infos:
            limits.add_member()
            paths.append(safe_member_path(info.filename))
        for info, path in zip(infos, paths, strict=True):
            if info.is_dir() or not path:
                continue
            kind = _zip_kind(info)
            if kind == KIND_SYMLINK:
                target = _read_small(zf, info, path)
                limits.add_bytes(len(target))
                yield Member(path, kind, link_target=target)
                continue
            if kind != KIND_FILE:
                yield Member(path, kind)
                continue
            if not want(path):
                yield Member(path, kind)
                continue
            yield _read_zip_file(zf, info, path, options, limits)


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> str:
    try:
        with zf.open(info) as src:
            return src.read(4096).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a broken link target is just not shown
        return ""


def _zip_consumed(src, info: zipfile.ZipInfo) -> int:
    """Compressed bytes of a member really decompressed so far.

    zipfile reads compressed data ahead and keeps deflate's unconsumed input, so
    both are subtracted; without them a 40 MB block of zeros (40 KB compressed)
    would look like a harmless 50:1 after the first read.
    """
    left = getattr(src, "_compress_left", 0)
    dec = getattr(src, "_decompressor", None)
    tail = len(getattr(dec, "unconsumed_tail", b"") or b"")
    return max(info.compress_size - left - tail, 1)


def _read_zip_file(zf, info, path, options: PackOptions, limits: _Limits) -> Member:
    cap = options.max_file_bytes + 1
    chunks: list[bytes] = []
    produced = 0
    try:
        with zf.open(info) as src:
            while produced < cap:
                chunk = src.read(min(CHUNK, cap - produced))
                if not chunk:
                    break
                produced += len(chunk)
                limits.add_bytes(len(chunk))
                limits.check_ratio(produced, _zip_consumed(src, info), path)
                chunks.append(chunk)
    except PackingError:
        raise
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
        if "encrypted" in str(exc) or "password" in str(exc):
            raise PackingError(f"The archive member {path} is encrypted.")
        raise PackingError(f"The archive is damaged or truncated at {path}.")
    except NotImplementedError:
        raise PackingError(f"The archive member {path} uses an unsupported compression method.")
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError):
        raise PackingError(f"The archive is damaged or truncated at {path}.")
    if produced >= cap:
        return Member(path, KIND_FILE, size=produced, too_large=True)
    mtime = _zip_mtime(info.date_time)
    return Member(path, KIND_FILE, data=b"".join(chunks), size=produced, mtime=mtime)


def _zip_mtime(date_time: tuple) -> float:
    try:  # local time without a zone: good enough to tell newer from older
        return calendar.timegm(tuple(date_time) + (0, 0, 0))
    except (TypeError, ValueError, OverflowError):
        return 0.0


# ---------------------------------------------------------------- tar


class _Decompressed:
    """A read-only stream over a compressed file that counts what goes in and out.

    Our own loop (rather than gzip.GzipFile & co.) so that the bytes produced are
    counted exactly and the total limit and the ratio check stop a bomb within one
    chunk of crossing them.
    """

    def __init__(self, raw, fmt: str, limits: _Limits):
        self.raw = raw
        self.fmt = fmt
        self.limits = limits
        self.consumed = 0
        self.produced = 0
        self.member = ""  # current tar member, for messages
        self._dec = self._new()
        self._pending = b""  # compressed input not yet fed
        self._out = b""
        self._eof = False

    def _new(self):
        if self.fmt == "gz":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.fmt == "bz2":
            return bz2.BZ2Decompressor()
        if self.fmt == "xz":
            return lzma.LZMADecompressor()
        return None

    def _read_raw(self) -> bytes:
        data = self.raw.read(CHUNK)
        self.consumed += len(data)
        return data

    def _damaged(self) -> str:
        if self.member:
            return f"The archive is damaged or truncated at {self.member}."
        return "The archive is damaged or truncated."

    def _step(self) -> None:
        """Produce some output, or reach the end of the file."""
        dec = self._dec
        if dec is None:
            data = self._read_raw()
            if not data:
                self._eof = True
            self._account(data)
            return
        if dec.eof:
            rest = dec.unused_data or self._read_raw()
            if not rest.strip(b"\x00"):
                # Zero padding after the last stream is common and harmless.
                while rest:
                    rest = self._read_raw()
                self._eof = True
                return
            # Concatenated streams (cat a.gz b.gz) are valid: start the next one.
            self._dec = self._new()
            self._pending = rest
            return
        try:
            if self.fmt == "gz":
                data = self._pending or self._read_raw()
                if not data:
                    raise PackingError(self._damaged())
                out = dec.decompress(data, CHUNK)
                self._pending = dec.unconsumed_tail
            else:
                data = b""
                if dec.needs_input:
                    data, self._pending = self._pending or self._read_raw(), b""
                    if not data:
                        raise PackingError(self._damaged())
                out = dec.decompress(data, max_length=CHUNK)
        except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError):
            raise PackingError(self._damaged())
        self._account(out)

    def _account(self, out: bytes) -> None:
        if not out:
            return
        self.produced += len(out)
        self._out += out
        self.limits.add_bytes(len(out))
        self.limits.check_ratio(self.produced, self.consumed, self.member)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            while not self._eof:
                self._step()
            data, self._out = self._out, b""
            return data
        while len(self._out) < n and not self._eof:
            self._step()
        data, self._out = self._out[:n], self._out[n:]
        return data


def _read_tar(fh, fmt: str, options: PackOptions, limits: _Limits, want) -> Iterator[Member]:
    stream = _Decompressed(fh, "" if fmt == "tar" else fmt, limits)
    try:
        tar = tarfile.open(fileobj=stream, mode="r|")
    except PackingError:
        raise
    except (tarfile.TarError, EOFError, OSError):
        if fmt == "tar":
            raise PackingError("The archive is damaged or truncated.")
        raise PackingError(
            "The upload is not a supported archive (zip, tar, tar.gz, tar.bz2 or tar.xz)."
        )
    cap = options.max_file_bytes + 1
    last = ""
    mark_produced = mark_consumed = 0
    while True:
        try:
            info = tar.next()
        except PackingError:
            raise
        except (tarfile.TarError, EOFError, OSError, ValueError):
            where = f" after {last}" if last else ""
            raise PackingError(f"The archive is damaged or truncated{where}.")
        # Per-member ratio: a bomb in the middle of a normal archive stands out here.
        if last:
            limits.check_ratio(
                stream.produced - mark_produced, stream.consumed - mark_consumed, last
            )
        mark_produced, mark_consumed = stream.produced, stream.consumed
        tar.members.clear()  # stream mode would otherwise keep every header in memory
        if info is None:
            break
        limits.add_member()
        path = safe_member_path(info.name)
        last = path or info.name
        stream.member = last
        if info.isdir() or not path:
            continue
        if info.issym():
            yield Member(path, KIND_SYMLINK, link_target=info.linkname)
            continue
        if info.islnk():
            yield Member(path, KIND_HARDLINK, link_target=info.linkname)
            continue
        if not info.isreg():
            yield Member(path, KIND_SPECIAL)
            continue
        if not want(path):
            yield Member(path, KIND_FILE)
            continue
        chunks: list[bytes] = []
        produced = 0
        try:
            if not info.issparse() and tar.fileobj.tell() == info.offset_data:
                # The data follows the header in the stream: read it directly rather
                # than through extractfile()'s three buffered layers (~0.05 s per
                # 2,000 files). tar.next() skips whatever is left of the member.
                chunk = tar.fileobj.read(min(info.size, cap))
                produced = len(chunk)
                chunks.append(chunk)
            else:
                src = tar.extractfile(info)
                while produced < cap:
                    chunk = src.read(min(CHUNK, cap - produced))
                    if not chunk:
                        break
                    produced += len(chunk)
                    chunks.append(chunk)
        except PackingError:
            raise
        except (tarfile.TarError, EOFError, OSError, ValueError):
            raise PackingError(f"The archive is damaged or truncated at {path}.")
        if produced < min(info.size, cap):
            raise PackingError(f"The archive is damaged or truncated at {path}.")
        if produced >= cap:
            yield Member(path, KIND_FILE, size=produced, too_large=True)
        else:
            data = b"".join(chunks)
            yield Member(path, KIND_FILE, data=data, size=produced, mtime=float(info.mtime or 0))
