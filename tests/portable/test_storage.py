"""Storage ports: FileStorage on the real filesystem and MemoryStorage, same behaviour."""

import os

from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import RESERVE, BlobStore, FileStorage, MemoryStorage
from tests.portable.support import unhex


def temp_root():
    root = "/tmp/vafa-storage-" + "".join(f"{b:02x}" for b in os.urandom(4))
    return root


def remove_tree(root):
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)


def check_api(storage):
    assert storage.read("a") is None
    storage.write_atomic("a", b"one")
    assert storage.read("a") == b"one"
    storage.write_atomic("a", b"two")
    assert storage.read("a") == b"two"
    storage.append("log", b"r1")
    storage.append("log", b"r2")
    assert storage.read("log") == b"r1r2"
    storage.write_atomic("log", b"new")
    storage.append("log", b"+")
    assert storage.read("log") == b"new+"
    storage.remove("a")
    storage.remove("a")  # removing what is gone is no error
    assert storage.read("a") is None
    assert storage.names() == ["log"]


def test_memory_storage_api():
    check_api(MemoryStorage())


def test_file_storage_api():
    root = temp_root()
    try:
        check_api(FileStorage(root))
        assert FileStorage(root).read("log") == b"new+"  # a second instance sees the files
    finally:
        remove_tree(root)


def test_file_storage_leaves_no_tmp_and_falls_back_to_it():
    root = temp_root()
    try:
        storage = FileStorage(root)
        storage.write_atomic("stan", b"000001")
        assert sorted(os.listdir(root)) == ["stan"]
        # FAT remove-then-rename cut in the middle: only stan.tmp is left.
        os.rename(root + "/stan", root + "/stan.tmp")
        assert storage.read("stan") == b"000001"
        storage.write_atomic("stan", b"000002")
        assert storage.read("stan") == b"000002"
        storage.remove("stan")
        assert os.listdir(root) == []
    finally:
        remove_tree(root)


def test_file_storage_rejects_paths():
    root = temp_root()
    try:
        storage = FileStorage(root)
        for bad in ("../x", "a/b", "", ".hidden"):
            try:
                storage.read(bad)
            except ValueError:
                continue
            raise AssertionError(f"accepted {bad!r}")
    finally:
        remove_tree(root)


def test_blob_store_keeps_dukpt_state_across_instances():
    root = temp_root()
    try:
        ikid = unhex("1234567890123456")
        initial = derive_initial_key(unhex("FEDCBA9876543210F1F1F1F1F1F1F1F1"), ikid)
        first = TerminalDukpt(FileStorage(root).store("dukpt"))
        first.load_initial_key(initial, ikid)
        ksn1, _ = first.next_key()
        assert first.next_key()[0][-4:] == b"\x00\x00\x00\x02"  # in the reserved block
        second = TerminalDukpt(FileStorage(root).store("dukpt"))  # a restart
        ksn2, _ = second.next_key()
        # files reserve RESERVE counters per save: the restart resumes after the block
        assert ksn1[-4:] == b"\x00\x00\x00\x01"
        assert ksn2[-4:] == (1 + RESERVE).to_bytes(4, "big")
    finally:
        remove_tree(root)


def check_counts(storage):
    """fsyncs and renames: one fsync per append and per atomic write, one rename per atomic
    write, nothing for a read or a remove."""
    storage.append("log", b"r1")
    storage.append("log", b"r2")
    assert (storage.fsyncs, storage.renames) == (2, 0)
    storage.write_atomic("a", b"one")
    assert (storage.fsyncs, storage.renames) == (3, 1)
    storage.read("a")
    storage.remove("a")
    assert (storage.fsyncs, storage.renames) == (3, 1)


def test_durable_writes_are_counted():
    check_counts(MemoryStorage())
    root = temp_root()
    try:
        check_counts(FileStorage(root))
    finally:
        remove_tree(root)


def test_reserve_is_the_storages():
    root = temp_root()
    try:
        assert FileStorage(root).reserve == RESERVE and FileStorage(root).store("x").reserve > 1
    finally:
        remove_tree(root)
    assert MemoryStorage().reserve == 1 and MemoryStorage().store("x").reserve == 1
    assert MemoryStorage(None, 8).store("x").reserve == 8

    class Port:  # a port in front of another (the crash tests' kind) stands for files
        pass

    assert BlobStore(Port(), "x").reserve == RESERVE
