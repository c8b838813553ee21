"""Storage port implementations: named byte blobs on a filesystem, or in memory.

The storage port (agent/ports.py) has four methods; names are flat ("journal", "stan",
"dukpt"), never paths:

- read(name) -> bytes, or None when there is no such blob;
- write_atomic(name, data): afterwards read(name) is either the old or the new data, whatever
  instant the power is cut;
- append(name, record): add bytes at the end, durable when the call returns (one flush per
  record); a power cut during the call may leave a prefix of `record` at the end (a torn
  record, which agent/journal.py detects by its checksum);
- remove(name): delete; no error when missing.

FileStorage keeps each name as a file under `root` and uses only `open()` and `os`, so it runs
on CPython and on MicroPython (which has no os.path, no os.fsync and no os.replace).

Atomic replace: write `name.tmp`, flush, (fsync where the interpreter has it), close, then
`os.rename(name.tmp, name)`. On littlefs (the usual board filesystem) and on POSIX a rename
over an existing file is atomic. FAT caveat: MicroPython's FAT driver renames over an existing
file by removing it first, then renaming, so a cut between the two leaves only `name.tmp`;
read() therefore falls back to `name.tmp` when `name` is missing. The fallback can also return
a `name.tmp` cut short while it was being written for the very first time (nothing older
existed): every blob Vafa stores carries its own check (journal records a CRC, the DUKPT state
a hash, the STAN counter must parse), so a short blob is detected and never taken as valid.
Boards should still use littlefs.

Durable writes cost: flash wears, and each one takes milliseconds on a board. Both storages
count them: `fsyncs` (one per append and per write_atomic: the os.fsync on CPython; on
MicroPython, which has none, the flush/close at which littlefs commits the file) and `renames`
(one per write_atomic), so that tests and bench/bench_durable_writes.py can tell what a
transaction costs. `reserve` tells the counters kept in this storage (agent/club.py StanCounter,
agent/protocol/dukpt.py TerminalDukpt through BlobStore) how many values one durable write
reserves: RESERVE for files, 1 for MemoryStorage unless asked (its writes cost nothing, and a
test then sees every value saved).
"""

import os

TMP = ".tmp"
# STANs or DUKPT counters reserved by one durable write on a storage that says nothing else:
# at most this many go unused after a power cut (docs/terminal.md "Files on storage").
RESERVE = 64


def _fsync(f):
    # CPython: push the data past the OS cache. MicroPython has no os.fsync; on littlefs a
    # flush()/close() is the durability point.
    sync = getattr(os, "fsync", None)
    if sync is not None:
        try:
            sync(f.fileno())
        except (AttributeError, OSError):
            pass


def _exists(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


class FileStorage:
    """Blobs as files in the folder `root` (created, with its parents, if missing)."""

    reserve = RESERVE

    def __init__(self, root):
        self.root = root.rstrip("/") or "/"
        self.fsyncs = 0  # durability points: one per append and per write_atomic
        self.renames = 0
        path = "/" if self.root.startswith("/") else ""
        for part in self.root.split("/"):
            if not part:
                continue
            path = path + part if not path or path.endswith("/") else path + "/" + part
            if not _exists(path):
                os.mkdir(path)

    def path(self, name):
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"storage name must be a plain file name: {name!r}")
        return self.root + "/" + name

    def read(self, name):
        path = self.path(name)
        for candidate in (path, path + TMP):
            try:
                with open(candidate, "rb") as f:
                    return f.read()
            except OSError:
                continue
        return None

    def write_atomic(self, name, data):
        path = self.path(name)
        with open(path + TMP, "wb") as f:
            f.write(data)
            f.flush()
            _fsync(f)
        self.fsyncs += 1
        os.rename(path + TMP, path)
        self.renames += 1

    def append(self, name, record):
        with open(self.path(name), "ab") as f:
            f.write(record)
            f.flush()
            _fsync(f)
        self.fsyncs += 1

    def remove(self, name):
        path = self.path(name)
        for candidate in (path, path + TMP):
            try:
                os.remove(candidate)
            except OSError:
                pass

    def names(self):
        """The stored names (for tools and tests)."""
        out = []
        for entry in os.listdir(self.root):
            if not entry.endswith(TMP):
                out.append(entry)
        out.sort()
        return out

    def store(self, name):
        return BlobStore(self, name)


class MemoryStorage:
    """The same API over a dict (tests, the demo, a terminal without flash).

    `blobs` is the dict itself (name -> bytes, or a list of the records appended): a test may
    hand the same MemoryStorage to a new engine to simulate a restart (what survives a power cut
    is exactly what is in `blobs`). `fsyncs` and `renames` count what FileStorage would do;
    `reserve` is 1 unless given (see above).
    """

    def __init__(self, blobs=None, reserve=1):
        self.blobs = {} if blobs is None else blobs
        self.reserve = reserve
        self.writes = 0
        self.fsyncs = 0
        self.renames = 0

    def read(self, name):
        data = self.blobs.get(name)
        if type(data) is list:
            return b"".join(data)
        return None if data is None else bytes(data)

    def write_atomic(self, name, data):
        self.writes += 1
        self.fsyncs += 1
        self.renames += 1
        self.blobs[name] = bytes(data)

    def append(self, name, record):
        # An appended blob is a list of records: no copy of the whole blob per append, and no
        # ever-growing buffer to fragment a small (MicroPython) heap.
        self.writes += 1
        self.fsyncs += 1
        blob = self.blobs.get(name)
        if type(blob) is not list:
            blob = self.blobs[name] = [blob] if blob else []
        blob.append(bytes(record))

    def remove(self, name):
        self.writes += 1
        self.blobs.pop(name, None)

    def names(self):
        return sorted(self.blobs)

    def store(self, name):
        return BlobStore(self, name)


class BlobStore:
    """One named blob as an object with load() / save(data): the store TerminalDukpt wants.
    `reserve` is the storage's (RESERVE when the storage does not say: a port in front of
    another one, as the crash tests use, stands for files)."""

    def __init__(self, storage, name):
        self.storage = storage
        self.name = name
        self.reserve = getattr(storage, "reserve", RESERVE)

    def load(self):
        return self.storage.read(self.name)

    def save(self, data):
        self.storage.write_atomic(self.name, data)
