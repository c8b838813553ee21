"""Running make for a firmware (flashing/firmware.py): its output summarized in a few
progress lines (the whole of it in a log), make's last lines when it fails, a clean stop on
Ctrl-C; and mpy-cross, built once per MicroPython source and shared by every board."""

import hashlib
import os
import signal
import subprocess
import time
from collections import deque

from flashing.firmware_cache import BuildLock
from flashing.firmware_error import FirmwareError

TAIL = 25  # lines of make's output shown when it fails
CC_EVERY = 50  # a progress line per this many C files compiled


def run_make(args, label, progress, log_path):
    """Run make, summarizing its output in a few progress lines; the whole output goes to
    log_path. FirmwareError(exit 1) with make's last lines when it fails."""
    command = ["make", f"-j{os.cpu_count() or 1}", *args]
    counts = {"CC": 0, "MPY": 0}
    seen = set()
    tail = deque(maxlen=TAIL)
    started = time.monotonic()
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", start_new_session=True)  # fmt: skip
        try:
            for line in proc.stdout:
                log.write(line)
                line = line.rstrip()
                tail.append(line)
                word = line.split(" ", 1)[0]
                if word in counts:
                    counts[word] += 1
                    if word == "CC" and counts["CC"] % CC_EVERY == 0:
                        progress(f"{label}: {counts['CC']} C files compiled")
                    if word == "MPY" and "MPY" not in seen:
                        seen.add("MPY")
                        progress(f"{label}: freezing modules (mpy-cross)")
                elif word == "LINK" and "LINK" not in seen:
                    seen.add("LINK")
                    progress(f"{label}: linking")
            code = proc.wait()
        except BaseException as e:  # Ctrl-C, a closed stdout: make must not go on alone
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            if isinstance(e, KeyboardInterrupt):
                raise FirmwareError(f"{label}: interrupted", 130) from None
            raise
    seconds = time.monotonic() - started
    if code:
        raise FirmwareError(
            f"{label}: make failed (exit {code}); full output in {log_path}",
            1,
            detail=tail,
        )
    return {"seconds": round(seconds, 1), "c_files": counts["CC"], "frozen": counts["MPY"]}


def build_mpy_cross(src, identity, work, progress):
    """mpy-cross built from the same source (one per source identity, reused by every
    board); returns its path."""
    build = work / ("mpy-cross-" + hashlib.sha256(identity.encode()).hexdigest()[:12])
    binary = build / "mpy-cross"
    with BuildLock(str(build) + ".lock"):
        if not (build / ".done").exists():
            progress("mpy-cross: building")
            build.mkdir(parents=True, exist_ok=True)
            stats = run_make(["-C", str(src / "mpy-cross"), f"BUILD={build}"], "mpy-cross",
                             progress, build / "make.log")  # fmt: skip
            progress(f"mpy-cross: built in {stats['seconds']} s")
            (build / ".done").write_text(identity + "\n")
    return binary
