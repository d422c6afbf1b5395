"""Seeded fuzzing of what users hand the harness: policy folders' metadata, comparison CSV files
and dashboard uploads. Each damaged input is accepted or refused with the reader's own error (one
line naming the file), never another exception; the CLI shows one ``error:`` line and exits 2."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import (
    REFUSED,
    WRONG_VALUES,
    assert_one_error_line,
    mutate_bytes,
    mutate_file,
    mutate_json,
    read_or_refused,
    run_cli,
)

from benchmark.errors import ComparisonsError, SubmissionError
from benchmark.judges.standings import read_comparisons_csv
from benchmark.policies.loaders import policy_info, resolve
from benchmark.policies.protocol import PolicyInfo
from dashboard import uploads

POLICY_MUTATIONS = 300
CSV_MUTATIONS = 300
UPLOAD_MUTATIONS = 300
METADATA = {
    "action_space": "ee_delta",
    "cameras": ["front"],
    "image_size": [64, 48],
    "control_hz": 10,
    "licence": "MIT",
    "owner": "lab",
}
CSV_TEXT = "policy_a,policy_b,winner\n" + "".join(
    f"{a},{b},{w}\n" for a, b, w in [("pi0", "octo", "a"), ("octo", "rt1", "tie"), ("rt1", "pi0", "b")] * 3
)


def _policy_folders(root: Path) -> list[Path]:
    """A code folder, a weights folder and a TorchScript folder, each declaring its metadata."""
    code = root / "code"
    code.mkdir(parents=True)
    (code / "policy.json").write_text(json.dumps({"entry": "agent:make", **METADATA}))
    (code / "agent.py").write_text("def make():\n    return None\n")
    weights = root / "weights"
    weights.mkdir()
    config = {"architecture": "image_cnn", "format_version": 1, "action_space": "ee_delta", "camera": "front"}
    (weights / "config.json").write_text(json.dumps(config | {"image_size": [64, 48], "control_hz": 10}))
    (weights / "model.safetensors").write_bytes(bytes(16))
    (weights / "policy.json").write_text(json.dumps({"licence": "MIT", "owner": "lab"}))
    script = root / "script"
    script.mkdir()
    with zipfile.ZipFile(script / "model.pt", "w") as archive:  # sniffed as TorchScript, never loaded
        archive.writestr("model/code/__torch__.py", "")
        archive.writestr("model/constants.pkl", b"")
    (script / "policy.json").write_text(json.dumps({"torchscript": "model.pt", **METADATA}))
    return [code, weights, script]


@pytest.fixture(scope="module")
def policy_folders(tmp_path_factory) -> list[Path]:
    return _policy_folders(tmp_path_factory.mktemp("fuzz_policies"))


def _read_policy(folder: Path) -> PolicyInfo:
    return policy_info(resolve(str(folder)))


# -- policy metadata -------------------------------------------------------------------------------
def test_the_unmutated_policy_folders_are_read(policy_folders):
    infos = [_read_policy(folder) for folder in policy_folders]
    assert [i.kind for i in infos] == ["entrypoint", "weights", "torchscript"]
    assert all(i.image_size == (64, 48) and i.control_hz == 10 and i.licence == "MIT" for i in infos)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("control_hz", "abc", "control rate 'abc' must be null or a number of Hz in (0, 1000]"),
        ("control_hz", float("nan"), "control rate nan"),
        ("control_hz", 0, "control rate 0 "),
        ("control_hz", -5, "control rate -5 "),
        ("control_hz", 1e12, "control rate 1000000000000.0 "),
        ("control_hz", True, "control rate True "),
        ("image_size", "224x224", "image_size must be a list, got '224x224'"),
        ("image_size", [224, "a"], "image size (224, 'a') must be two integers"),
        ("image_size", [224.0, 224.0], "must be two integers"),
        ("cameras", "front", "cameras must be a list, got 'front'"),
        ("cameras", [3], "must be a list of camera names"),
        ("action_space", ["ee_delta"], "action space ['ee_delta'] is not one of"),
        ("licence", {"a": 1}, "licence {'a': 1} must be plain text"),
        ("torchscript", "../outside.pt", "points outside the policy folder"),
        ("torchscript", 7, "'torchscript' must name a file"),
    ],
)
def test_bad_policy_metadata_names_the_field(policy_folders, tmp_path, field, value, words):
    folder = Path(shutil.copytree(policy_folders[2], tmp_path / "script"))
    manifest = json.loads((folder / "policy.json").read_text())
    (folder / "policy.json").write_text(json.dumps(manifest | {field: value}))
    with pytest.raises(SubmissionError) as err:
        _read_policy(folder)
    assert words in str(err.value)
    assert str(folder / "policy.json") in str(err.value) or field == "torchscript"


def test_fuzzed_policy_folders(policy_folders, tmp_path):
    """Damaged policy.json, config.json and model files: read, or SubmissionError naming the folder."""
    rng = np.random.default_rng(20250613)
    outcomes = {"read": 0, "refused": 0}
    for i in range(POLICY_MUTATIONS):
        source = policy_folders[i % len(policy_folders)]
        folder = tmp_path / f"p{i}"
        shutil.copytree(source, folder)
        files = sorted(p for p in folder.iterdir() if p.is_file())
        how = mutate_file(files[rng.integers(len(files))], rng)
        mutation = f"mutation {i} of {source.name} ({how})"
        read = read_or_refused(_read_policy, folder, error=SubmissionError, naming=folder, mutation=mutation)
        outcomes["refused" if read is REFUSED else "read"] += 1
        shutil.rmtree(folder)
    assert outcomes["refused"] >= POLICY_MUTATIONS // 4 and outcomes["read"] > 0, outcomes


def test_fuzzed_policy_metadata_dicts():
    """Wrong-typed values in every field of the metadata: a PolicyInfo, or SubmissionError."""
    rng = np.random.default_rng(20250614)
    refused = 0
    for i in range(POLICY_MUTATIONS):
        data = {"name": "p", **METADATA}
        key = list(data)[rng.integers(len(data))]
        data[key] = WRONG_VALUES[rng.integers(len(WRONG_VALUES))] if i % 2 else mutate_json(data[key], rng)
        read = read_or_refused(
            PolicyInfo.from_dict, data, "policy.json",
            error=SubmissionError, naming="policy.json", mutation=f"{key} = {data[key]!r}",
        )  # fmt: skip
        refused += read is REFUSED
    assert refused >= POLICY_MUTATIONS // 2, refused


def test_a_bad_control_rate_is_one_error_line_from_submit(policy_folders, tmp_path):
    folder = Path(shutil.copytree(policy_folders[0], tmp_path / "code"))
    (folder / "policy.json").write_text(json.dumps({"entry": "agent:make", **METADATA, "control_hz": "abc"}))
    db = f"sqlite:///{tmp_path / 'store.db'}"
    out = run_cli("submit", str(folder), "--name", "fuzzy", "--db", db)
    assert_one_error_line(out, "policy.json", "control rate 'abc'")


# -- comparisons CSV -------------------------------------------------------------------------------
def _mutate_csv(text: str, rng: np.random.Generator) -> bytes:
    """Rows cut short, grown, blanked or swapped for junk; or the bytes damaged."""
    lines = text.splitlines()
    how = rng.integers(6)
    k = int(rng.integers(len(lines)))
    fields = lines[k].split(",")
    if how == 0:
        lines[k] = ",".join(fields[: rng.integers(len(fields))])
    elif how == 1:
        lines[k] = ",".join([*fields, "extra"])
    elif how == 2:
        fields[rng.integers(len(fields))] = str(WRONG_VALUES[rng.integers(len(WRONG_VALUES))])
        lines[k] = ",".join(fields)
    elif how == 3:
        lines[k] = '"' + lines[k]
    elif how == 4:
        del lines[k]
    else:
        return mutate_bytes(text.encode(), rng)
    return ("\n".join(lines) + "\n").encode()


def test_fuzzed_comparison_files(tmp_path):
    rng = np.random.default_rng(20250615)
    path = tmp_path / "votes.csv"
    outcomes = {"read": 0, "refused": 0}
    for i in range(CSV_MUTATIONS):
        path.write_bytes(_mutate_csv(CSV_TEXT, rng))
        mutation = f"mutation {i} {path.read_bytes()!r}"
        read = read_or_refused(
            read_comparisons_csv, path, error=ComparisonsError, naming=path, mutation=mutation
        )
        outcomes["refused" if read is REFUSED else "read"] += 1
    assert outcomes["refused"] >= CSV_MUTATIONS // 3 and outcomes["read"] > 0, outcomes


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("policy_a,policy_b,winner\npi0,octo,a\npi0,octo\n", "line 3 has 2 fields; the header has 3"),
        ("policy_a,policy_b,winner\npi0\n", "line 2 has 1 fields"),
        ("policy_a,policy_b,winner\npi0,octo,a,b\n", "line 2 has 4 fields"),
        ("policy_a,policy_b,winner\n\npi0,octo,a\n\nocto,pi0,maybe\n", "line 5 ('octo', 'pi0', 'maybe')"),
        ('policy_a,policy_b,winner\n"pi0,octo,a\n', "line"),
    ],
)
def test_malformed_comparison_rows_name_the_line(tmp_path, text, words):
    path = tmp_path / "votes.csv"
    path.write_text(text)
    with pytest.raises(ComparisonsError) as err:
        read_comparisons_csv(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_a_short_comparison_row_is_one_error_line_from_rank(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text("policy_a,policy_b,winner\npi0,octo,a\npi0,octo\n")
    out = run_cli("rank", "--comparisons", str(path))
    assert_one_error_line(out, "votes.csv: line 3 has 2 fields")


# -- uploads ---------------------------------------------------------------------------------------
def _archives() -> dict[str, bytes]:
    files = {
        "p/policy.json": json.dumps({"entry": "agent:make"}).encode(),
        "p/agent.py": b"def make(): ...\n" * 20,
    }
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return {"p.zip": zipped.getvalue(), "p.tar.gz": tarred.getvalue()}


def test_fuzzed_uploads(tmp_path):
    """Damaged archives unpack or raise UploadError, and a refused one leaves nothing unpacked."""
    rng = np.random.default_rng(20250616)
    archives = _archives()
    outcomes = {"unpacked": 0, "refused": 0}
    for i in range(UPLOAD_MUTATIONS):
        name = list(archives)[i % 2]
        content = mutate_bytes(archives[name], rng)
        into = tmp_path / f"u{i}"
        unpacked = read_or_refused(
            uploads.unpack, name, content, into, uploads.MB,
            error=uploads.UploadError, naming=name, mutation=f"mutation {i} of {name}",
        )  # fmt: skip
        if unpacked is REFUSED:
            assert not (into / "policy").exists(), f"mutation {i}: a refused upload left files behind"
        outcomes["refused" if unpacked is REFUSED else "unpacked"] += 1
        shutil.rmtree(into, ignore_errors=True)
    assert outcomes["refused"] >= UPLOAD_MUTATIONS // 2 and outcomes["unpacked"] > 0, outcomes


def test_a_zip_with_a_bad_crc_is_refused_cleanly(tmp_path):
    content = bytearray(_archives()["p.zip"])
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("p/policy.json", b'{"entry": "agent:make"}')
    content = bytearray(stored.getvalue())
    at = content.index(b'{"entry"') + 3
    content[at] ^= 0x20  # the data changes, its recorded CRC does not
    with pytest.raises(
        uploads.UploadError, match=r"^p.zip: not a valid zip file \(Bad CRC-32 for file 'p/policy.json'\)$"
    ):
        uploads.unpack("p.zip", bytes(content), tmp_path, uploads.MB)
    assert not (tmp_path / "policy").exists()


def test_a_tarball_is_refused_at_its_first_bad_member(tmp_path, monkeypatch):
    """Members are checked as they stream by: one over the size budget is refused before the
    thousands of headers after it are read."""
    limit = 64 * 1024  # the budget is four times that: 256 KB
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        big = tarfile.TarInfo("p/big.bin")
        big.size = 300 * 1024
        archive.addfile(big, io.BytesIO(bytes(big.size)))
        for k in range(2000):
            archive.addfile(tarfile.TarInfo(f"p/empty{k}"), io.BytesIO(b""))
    assert len(buffer.getvalue()) <= limit
    headers = []
    real = tarfile.TarInfo.fromtarfile.__func__

    def counting(cls, tar):
        headers.append(1)
        return real(cls, tar)

    monkeypatch.setattr(tarfile.TarInfo, "fromtarfile", classmethod(counting))
    with pytest.raises(uploads.UploadError, match="unpacks to at least 300 KB; at most 256 KB"):
        uploads.unpack("p.tar.gz", buffer.getvalue(), tmp_path, limit)
    assert len(headers) < 5
    assert not (tmp_path / "policy").exists()


def test_a_tarball_that_inflates_past_its_budget_is_cut_off(tmp_path):
    """A 16 MB member name (a GNU long-name header) compresses to a few KB: the decompressed stream
    is capped, so it is refused without being read to its end."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        archive.addfile(tarfile.TarInfo("p/" + "a" * (16 * uploads.MB)), io.BytesIO(b""))
    limit = 64 * 1024
    assert len(buffer.getvalue()) <= limit
    with pytest.raises(uploads.UploadError, match="unpacks to more than"):
        uploads.unpack("p.tar.gz", buffer.getvalue(), tmp_path, limit)
    assert not (tmp_path / "policy").exists()
