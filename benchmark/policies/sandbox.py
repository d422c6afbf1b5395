"""The sandbox an untrusted worker runs in: bubblewrap (``bwrap``) namespaces plus rlimits.

:func:`sandboxed` turns the worker's command into one that runs it:

- in its own user, PID, mount, IPC, UTS and network namespaces (no network at all), with every
  capability dropped, in a new session, and killed when the evaluator's side of it dies;
- seeing, read-only, only what it needs: the Python installation, the system libraries, the
  project's own packages and the submission's file or folder (at the path the evaluator knows
  it by); the store, the artefacts, the user's files and ``/etc`` are not there;
- with a private tmpfs of :attr:`SandboxLimits.tmpfs_bytes` as its home, temporary and working
  folder, and nothing else writable;
- with an empty environment but for what :mod:`benchmark.policies.worker` sets;
- under rlimits on processes, open files, file size (its stderr log included), CPU time and core
  dumps, set before ``bwrap`` starts (the worker caps its own address space);
- under a seccomp filter refusing the system calls a policy never needs (:data:`DENIED_SYSCALLS`:
  new namespaces and mounts, tracing, kernel modules, keyrings, BPF, io_uring …).

Its PID namespace hides the evaluator: the worker cannot see or signal it, and a child that calls
``setsid()`` dies with the namespace. Where ``bwrap`` is missing or the kernel refuses the
namespaces, :func:`problem` says why, and untrusted submissions are refused with that line
(:class:`~benchmark.errors.PolicyError`); nothing untrusted ever runs unconfined.

What it does not do: allow-list system calls (the filter refuses a list; the rest of the kernel's
surface stays open), or bound memory bandwidth and CPU share (only CPU time).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")
PROJECT_PACKAGES = ("benchmark", "twin")
HOME = "/tmp"


@dataclass(frozen=True)
class SandboxLimits:
    """What one sandboxed worker may use besides memory (:class:`~benchmark.policies.worker.WorkerLimits`)."""

    tmpfs_bytes: int = 256 * MIB  # its home, temporary and working folder
    file_bytes: int = 64 * MIB  # largest file it may write, its stderr log included
    processes: int = 512  # processes of the user, counted across the machine (RLIMIT_NPROC)
    open_files: int = 256
    cpu_seconds: int = 3600


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def readable_paths() -> list[Path]:
    """The folders a worker needs to run Python and our packages (submission aside)."""
    root = project_root()
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent, Path("/usr")}
    for entry in sys.path:  # site-packages; the project's root itself only through its packages
        if entry and _visible(Path(entry)) and Path(entry).resolve() != root:
            paths.add(Path(entry).resolve())
    paths |= {root / name for name in PROJECT_PACKAGES}
    return sorted(p for p in paths if _visible(p))


def _visible(path: Path) -> bool:
    """Whether ``path`` exists for this user (a folder it may not enter is not needed by it)."""
    try:
        return path.exists()
    except OSError:
        return False


def bwrap_arguments(
    readable: list[Path], env: dict[str, str], limits: SandboxLimits, network: bool = False
) -> list[str]:
    """The ``bwrap`` options for a worker that may read ``readable`` and gets ``env`` (pure);
    ``network`` keeps the host's network (a policy allowed to call out)."""
    args = ["--unshare-all", *(["--share-net"] if network else [])]
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    # the private tmpfs first: a submission that lives under /tmp is bound over it, not hidden by it
    args += ["--size", str(limits.tmpfs_bytes), "--tmpfs", HOME]
    for link in SYSTEM_LINKS:
        target = Path(link)
        if target.is_symlink():
            args += ["--symlink", os.readlink(link), link]
        elif target.exists():
            args += ["--ro-bind", link, link]
    for path in [*(str(p) for p in readable), *SYSTEM_FILES]:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--chdir", HOME]
    args += ["--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args


def sandboxed(
    argv: list[str],
    submission: Path | None,
    env: dict[str, str],
    limits: SandboxLimits,
    network: bool = False,
    seccomp: int | None = None,
    also: tuple[Path, ...] = (),
) -> list[str]:
    """``argv`` run inside the sandbox, seeing ``submission`` (a file or folder) and the folders
    ``also`` (another venv's Python) read-only, under the seccomp program readable from file
    descriptor ``seccomp`` (:func:`seccomp_fd`) if given."""
    readable = readable_paths() + ([submission.resolve()] if submission is not None else [])
    readable += [Path(p) for p in also]
    env = {**env, "HOME": HOME, "TMPDIR": HOME}
    filtered = [] if seccomp is None else ["--seccomp", str(seccomp)]
    return [_bwrap(), *bwrap_arguments(readable, env, limits, network), *filtered, "--", *argv]


def exit_signal(code: int) -> int | None:
    """The signal a sandboxed process died of: bubblewrap, its PID 1, exits 128 + the signal."""
    import signal

    if code > 128 and (code - 128) in {s.value for s in signal.Signals}:
        return code - 128
    return None


# system calls a policy never needs, refused with EPERM: namespaces and mounts (the way out of a
# sandbox), tracing and reading other processes, kernel modules, keyrings, BPF, io_uring, reboot
DENIED_SYSCALLS = (
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_by_handle_at",
    "name_to_handle_at", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "bpf",
    "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "init_module",
    "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
    "acct", "quotactl", "syslog", "iopl", "ioperm", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "lookup_dcookie",
)  # fmt: skip


@functools.cache
def seccomp_program(denied: tuple[str, ...] = DENIED_SYSCALLS) -> bytes:
    """A seccomp BPF program that allows every system call but ``denied`` (EPERM), compiled for
    this machine by libseccomp (``bwrap --seccomp FD`` loads it) once per process; OSError without
    libseccomp."""
    import ctypes
    import errno
    import tempfile

    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    allow, refuse = 0x7FFF0000, 0x00050000 | errno.EPERM  # SCMP_ACT_ALLOW, SCMP_ACT_ERRNO(EPERM)
    context = lib.seccomp_init(allow)
    if not context:
        raise OSError("libseccomp could not start a filter")
    try:
        for name in denied:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number >= 0 and lib.seccomp_rule_add(context, refuse, number, 0) != 0:
                raise OSError(f"libseccomp refused a rule for {name}")
        with tempfile.TemporaryFile() as program:
            if lib.seccomp_export_bpf(context, program.fileno()) != 0:
                raise OSError("libseccomp could not export the filter")
            program.seek(0)
            return program.read()
    finally:
        lib.seccomp_release(context)


def seccomp_fd() -> int:
    """A readable file descriptor holding :func:`seccomp_program` (inheritable, for ``bwrap``)."""
    read, write = os.pipe()
    program = seccomp_program()
    if len(program) > 60000:
        raise OSError("the seccomp program does not fit a pipe")
    os.write(write, program)
    os.close(write)
    os.set_inheritable(read, True)
    return read


# Run by a fresh interpreter between fork and bubblewrap: it caps its own rlimits, which bwrap and
# the worker inherit, then becomes the command. (A ``preexec_fn`` would run Python in the forked
# copy of a threaded parent, the dashboard say, and can deadlock on a lock another thread held.)
RLIMITS_BOOT = """
import os, resource, sys
end = sys.argv.index("--")
for item in sys.argv[1:end]:
    name, value = item.split("=")
    which = getattr(resource, "RLIMIT_" + name)
    soft, hard = resource.getrlimit(which)
    cap = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
    resource.setrlimit(which, (cap, cap))
os.execv(sys.argv[end + 1], sys.argv[end + 1:])
"""


def with_rlimits(argv: list[str], limits: SandboxLimits) -> list[str]:
    """``argv`` run under the rlimits of ``limits`` (processes, open files, file size, CPU seconds,
    no core dumps), which everything it starts inherits."""
    caps = {
        "NPROC": limits.processes,
        "NOFILE": limits.open_files,
        "FSIZE": limits.file_bytes,
        "CPU": limits.cpu_seconds,
        "CORE": 0,
    }
    exe = shutil.which(argv[0]) or argv[0]
    settings = [f"{name}={int(value)}" for name, value in caps.items()]
    return [sys.executable, "-I", "-c", RLIMITS_BOOT, *settings, "--", exe, *argv[1:]]


def _bwrap() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise FileNotFoundError("bwrap")
    return found


@functools.cache
def problem() -> str | None:
    """Why untrusted workers cannot be sandboxed here, or None when they can (probed once)."""
    try:
        fd = seccomp_fd()
    except OSError as err:
        return f"no seccomp filter can be built ({err}): apt-get install libseccomp2"
    try:
        argv = sandboxed([sys.executable, "-c", "print('ok')"], None, {}, SandboxLimits(), seccomp=fd)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, pass_fds=(fd,))
    except FileNotFoundError:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap cannot start ({err})"
    finally:
        os.close(fd)
    if done.returncode != 0 or done.stdout.strip() != "ok":
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"bubblewrap cannot create the sandbox's namespaces here ({why})"
    return None
