"""The twins gallery: each twin's pictures, fidelity figures and calibration."""

from __future__ import annotations

import streamlit as st

from benchmark.errors import StoreError
from dashboard import data, gallery
from dashboard.fmt import plain, plural
from dashboard.widgets import table


def render() -> None:
    st.title("Twins")
    twins = data.twins(data.url())
    if not twins:
        st.info(f"The store `{data.shown_url()}` holds no twins yet.")
        st.markdown(
            "A twin is registered when a campaign first uses it (`twinarena evaluate --twin FOLDER "
            "…`); build one with `twinarena twin build DEMO -o TWIN` or package a reference scene "
            "with `twinarena twin package-scene SCENE -o TWIN`."
        )
        return
    st.caption(f"{plural(len(twins), 'twin')} in the store.")
    table(
        [{"twin": t.name, "task": t.task, "content hash": t.content_hash[:12]} for t in twins],
        {"content hash": st.column_config.TextColumn(width=110)},
    )
    for twin in twins:
        with st.container(border=True):
            _twin(twin)


def _twin(twin) -> None:
    st.subheader(twin.name)
    st.caption(f"task `{twin.task}` · content hash `{twin.content_hash[:12]}` · from `{twin.source}`")
    try:
        folder = data.store().artefact_path(twin.artefact)
    except StoreError as err:
        st.warning(f"Its package is not in the artefact folder: {plain(err)}")
        return
    shots = gallery.pictures(folder)
    fidelity = gallery.read_json(folder / "fidelity.json") or {}
    if shots.real is not None:
        real, render, difference = st.columns(3)
        real.image(shots.real, caption="real frame (from the demonstration)")
        render.image(shots.render, caption="twin render, same camera")
        difference.image(shots.difference, caption="difference")
    else:
        left, right = st.columns([2, 1])
        if shots.render is not None:
            left.image(shots.render, caption="twin render")
        right.info(
            "No real frame: this twin was authored (a reference scene packaged as a twin), not "
            "reconstructed from a video, so there is nothing filmed to compare with."
            if fidelity.get("authored")
            else "No real frame (`reference.png`) in this package."
        )
    figures = gallery.fidelity_rows(fidelity)
    if figures:
        table(figures, {"metric": st.column_config.TextColumn(width="large")})
    cameras = gallery.cameras(gallery.read_json(folder / "calibration.json"))
    if cameras:
        st.caption("calibrated cameras: " + ", ".join(cameras))


render()
