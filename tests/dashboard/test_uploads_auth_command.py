"""Upload checks and unpacking, annotator log-in tokens, and the ``twinarena dashboard`` command."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import time
import zipfile

import pytest
from helpers import free_port, wait_until_healthy

from dashboard import auth, uploads
from dashboard.command import streamlit_command

MB = uploads.MB


def tarball(members: list[tuple[str, bytes | None, str | None]]) -> bytes:
    """A .tar.gz of (name, bytes) files, or (name, None, target) symbolic links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data, target in members:
            info = tarfile.TarInfo(name)
            if target is not None:
                info.type, info.linkname = tarfile.SYMTYPE, target
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_types_and_sizes():
    assert uploads.suffix("Model.TAR.GZ") == ".tar.gz" and uploads.suffix("m.pt") == ".pt"
    assert uploads.suffix("weights.safetensors") is None
    with pytest.raises(uploads.UploadError, match="weights.safetensors: this type of file is not accepted"):
        uploads.check_upload("weights.safetensors", 10, MB)
    with pytest.raises(uploads.UploadError, match="m.pt is 2.0 MB; uploads may be at most 1.0 MB"):
        uploads.check_upload("m.pt", 2 * MB, MB)
    with pytest.raises(uploads.UploadError, match="empty"):
        uploads.check_upload("m.pt", 0, MB)


def test_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv(uploads.MAX_UPLOAD_ENV, "1.5")
    assert uploads.max_upload_bytes() == int(1.5 * MB)
    monkeypatch.setenv(uploads.MAX_UPLOAD_ENV, "lots")
    with pytest.raises(ValueError, match="TWINARENA_MAX_UPLOAD_MB"):
        uploads.max_upload_bytes()


def test_a_folder_archive_unpacks_to_its_folder(tmp_path):
    content = tarball([("weights/config.json", b"{}", None), ("weights/model.safetensors", b"x", None)])
    path = uploads.unpack("w.tgz", content, tmp_path, MB)
    assert path.name == "weights" and sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "model.safetensors",
    ]


def test_a_torchscript_zip_stays_a_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model/code/__torch__.py", "")
        archive.writestr("model/constants.pkl", b"")
    path = uploads.unpack("model.zip", buffer.getvalue(), tmp_path, MB)
    assert path.is_file() and path.name == "model.pt"


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ([("link", None, "/etc/passwd")], "not a plain file or folder"),
        ([("../up.py", b"x", None)], "points outside the folder"),
        ([("/abs.py", b"x", None)], "points outside the folder"),
        ([("big.bin", b"\0" * (5 * 1024), None)], "unpacks to at least 5 KB; at most 4 KB"),
    ],
)
def test_hostile_tarballs_are_refused(tmp_path, members, words):
    with pytest.raises(uploads.UploadError, match=words):
        uploads.unpack("p.tar.gz", tarball(members), tmp_path, 1024)


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("p/zeros.bin", b"\0" * (10 * MB))
    assert len(buffer.getvalue()) < MB
    with pytest.raises(uploads.UploadError, match="unpacks to 10.0 MB"):
        uploads.unpack("p.zip", buffer.getvalue(), tmp_path, MB)
    assert not (tmp_path / "policy").exists()


def test_tokens_name_one_annotator_and_cannot_be_forged():
    key = b"k" * 32
    token = auth.issue_token("  Ada Lovelace ", key)
    assert auth.name_from_token(token, key) == "Ada Lovelace"
    encoded, _, signature = token.partition(".")
    other = auth.issue_token("Bob", key).partition(".")[0]
    for forged in (f"{other}.{signature}", f"{encoded}.{'0' * 32}", "nonsense", ""):
        with pytest.raises(ValueError):
            auth.name_from_token(forged, key)
    with pytest.raises(ValueError):
        auth.name_from_token(token, b"another secret")


def test_the_secret_is_kept_private_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(auth.SECRET_ENV, raising=False)
    monkeypatch.setenv("TWINARENA_HOME", str(tmp_path))
    first = auth.secret()
    assert first == auth.secret() and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / auth.SECRET_FILE).st_mode) == 0o600
    monkeypatch.setenv(auth.LOGIN_ENV, "maybe")
    with pytest.raises(ValueError, match="TWINARENA_ANNOTATOR_LOGIN"):
        auth.login_mode()


def test_streamlit_runs_headless_on_the_given_address():
    command = streamlit_command(8600, "127.0.0.1")
    pairs = dict(zip(command[5::2], command[6::2], strict=True))
    assert pairs == {
        "--server.headless": "true",
        "--server.address": "127.0.0.1",
        "--server.port": "8600",
        "--server.fileWatcherType": "none",
        "--browser.gatherUsageStats": "false",
        "--client.toolbarMode": "minimal",
    }
    assert command[1:5] == ["-m", "streamlit", "run", command[4]] and command[4].endswith("app.py")


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "dashboard", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


def test_the_command_issues_tokens_and_refuses_a_bad_store():
    out = cli("--issue-token", "ada", env={auth.SECRET_ENV: "s3cret"})
    assert out.returncode == 0, out.stderr
    assert auth.name_from_token(out.stdout.strip(), b"s3cret") == "ada"
    out = cli("--db", "mysql://x@127.0.0.1/none", "--port", "8599")
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error:") and "not supported" in out.stderr


def _port_is_free(port: int) -> bool:
    """Whether a new server could listen on ``port`` (as servers do, past TIME_WAIT connections)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_command_stops_the_server_it_started(tmp_path, stop):
    """A supervisor stops ``twinarena dashboard`` with one signal to its own process, not to the
    process group: the Streamlit server it started goes too and the port is free again."""
    port = free_port()
    log = tmp_path / "dashboard.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmark.cli", "dashboard", "--db", f"sqlite:///{tmp_path / 'x.db'}",
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log, 90)
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0, log.read_text()
        deadline = time.monotonic() + 10
        while not _port_is_free(port):
            assert time.monotonic() < deadline, f"port {port} still taken after the command stopped"
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
