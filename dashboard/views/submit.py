"""Submit a policy: upload a checkpoint, have it validated in a worker and registered, then queue
an evaluation campaign for it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from benchmark.errors import CampaignError, PerturbationError, ScenarioError, StoreError, SubmissionError
from benchmark.policies.builtin import BUILTINS
from dashboard import data, queue, uploads
from dashboard.fmt import plain

BASELINES = tuple(sorted(BUILTINS, key=lambda name: name == "random"))  # the random floor last
FROM_SUBMISSION = "(as the submission says)"


def render() -> None:
    st.title("Submit a policy")
    limit = uploads.max_upload_bytes()
    st.markdown(
        "Accepted: "
        + "; ".join(f"`{s}` {what}" for s, what in uploads.ACCEPTED.items())
        + f". At most {uploads.human(limit)}. The submission is checked and asked for one action "
        "in an isolated worker process (no network, capped memory), as `twinarena submit` does; nothing "
        "submitted runs inside the dashboard."
    )
    _submit_form(limit)
    _queue_form()


def _submit_form(limit: int) -> None:
    with st.form("submit"):
        name = st.text_input("Policy name (as it will appear on the leaderboard)", max_chars=100)
        owner, licence = st.columns(2)
        owner = owner.text_input("Owner")
        licence = licence.text_input("Licence")
        upload = st.file_uploader(  # types are checked here, so a wrong one gets our message
            "Checkpoint",
            max_upload_size=max(1, -(-limit // uploads.MB)),
            help="Accepted: " + ", ".join(uploads.ACCEPTED),
        )
        space, size = st.columns(2)
        action_space = space.selectbox("Action space", [FROM_SUBMISSION, "ee_delta", "joint_position"])
        image_size = size.text_input("Image size WIDTHxHEIGHT", placeholder=FROM_SUBMISSION)
        if not st.form_submit_button("Validate and register", type="primary"):
            return
    if not name.strip():
        st.error("Give the policy a name.")
        return
    if upload is None:
        st.error("Choose a checkpoint file to upload.")
        return
    try:
        uploads.check_upload(upload.name, upload.size, limit)
        overrides = {
            "owner": owner.strip() or None,
            "licence": licence.strip() or None,
            "action_space": None if action_space == FROM_SUBMISSION else action_space,
            "image_size": _size(image_size) if image_size.strip() else None,
        }
    except (uploads.UploadError, ValueError) as err:
        st.error(f"Refused: {plain(err)}")
        return
    _register(name.strip(), upload, overrides, limit)


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().strip().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise ValueError(f"image size {text!r}: expected WIDTHxHEIGHT, e.g. 224x224")
    return int(width), int(height)


def _register(name: str, upload, overrides: dict, limit: int) -> None:
    from benchmark.policies.submissions import submit

    with tempfile.TemporaryDirectory(prefix="twinarena-upload-") as tmp:
        try:
            path = uploads.unpack(upload.name, upload.getvalue(), Path(tmp), limit)
            with st.spinner(f"Validating {upload.name} in a worker…"):
                record, probe = submit(str(path), name, data.store(), overrides)
        except uploads.UploadError as err:
            st.error(f"Refused: {plain(err)}")
            return
        except (SubmissionError, StoreError, ValueError) as err:
            data.refresh()  # a failed validation is registered as failed, with the reason
            st.error(f"Not registered: {plain(err)}")
            return
    data.refresh()
    st.session_state["queue_policies"] = [record.name]
    st.success(
        f"Registered **{record.name}** ({record.kind}, sha256 `{(record.sha256 or '-')[:12]}`): it answered "
        f"with an action of shape {probe.action_shape} in {probe.first_answer_ms:.0f} ms. Queue a campaign "
        "for it below."
    )


def _queue_form() -> None:
    from benchmark.perturbations.axes import AXES

    st.subheader("Queue an evaluation campaign")
    db = data.url()
    registered = [p.name for p in data.policies(db) if p.status == "registered"]
    choices = list(dict.fromkeys([*registered, *BASELINES]))
    twins = {t.name: t for t in data.twins(db)}
    if not twins:
        st.info("No twins in the store yet: a campaign needs one (`twinarena evaluate --twin …` adds it).")
        return
    default = [p for p in st.session_state.get("queue_policies", []) if p in choices]
    with st.form("queue"):
        policies = st.multiselect("Policies", choices, default=default)
        chosen = st.multiselect("Twins", list(twins), default=list(twins)[:1])
        axes_col, levels_col, seeds_col = st.columns([2, 1, 1])
        axes = axes_col.multiselect("Perturbation axes (each swept alone)", list(AXES))
        levels = levels_col.text_input("Levels", value="0.5,1")
        seeds = seeds_col.number_input("Seeds per cell", min_value=1, max_value=1000, value=10)
        name = st.text_input("Campaign name (optional)")
        if not st.form_submit_button("Queue campaign"):
            return
    if not policies or not chosen:
        st.error("Choose at least one policy and one twin.")
        return
    try:
        folders = [str(data.store().artefact_path(twins[t].artefact)) for t in chosen]
        queued = queue.queue_campaign(
            data.store(),
            policies,
            folders,
            queue.sweeps(axes, levels) if axes else (),
            int(seeds),
            name.strip() or None,
            data.shown_url(),
        )
    except (CampaignError, ScenarioError, PerturbationError, StoreError) as err:
        st.error(f"Not queued: {plain(err)}")
        return
    data.refresh()
    st.success(
        f"Queued campaign **{queued.name}**: {queued.jobs} episodes, {queued.done} already in the store. "
        "An evaluator runs it with:"
    )
    st.code(queued.command, language="bash", wrap_lines=True)
    st.caption(
        "Run that on any machine that reaches this store; it runs only the episodes still missing, so "
        "running it again after an interruption is safe. `twinarena campaigns` shows the progress."
    )


render()
