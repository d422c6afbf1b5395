"""Blind A/B voting: two rollouts of one scenario side by side, no policy names; A, tie or B and
a reason. Pairs, tokens, qualification and sanity checks are
:class:`benchmark.judges.preferences.PreferenceService`'s; the next regular pair comes from active
selection (:func:`benchmark.judges.preferences.active_scorer`)."""

from __future__ import annotations

import streamlit as st

from benchmark.judges.human import NoPairError, VoteRejected
from benchmark.judges.preferences import PreferenceService, active_scorer
from dashboard import auth, data
from dashboard.fmt import plain
from twin.video import VideoError, same_length_mp4s

SIDES = {"A": "left", "tie": "tie", "B": "right"}
LABELS = {"A": "A is better", "tie": "Tie", "B": "B is better"}
NO_PAIR_HINTS = {
    "no_known_pairs": "The store has no more known-answer pairs to qualify on (a success and a clear "
    "failure in one scenario). Come back when more episodes are stored.",
    "no_pairs": "You have judged every pair there is for now. Thank you! Come back after the next campaign.",
}


def render() -> None:
    st.title("Vote")
    st.caption(
        "Two rollouts of the same scenario, side by side; which policy ran which is hidden, and the "
        "sides are drawn at random. Say which did the task better, or that they are tied, and why."
    )
    store = data.store()
    service = PreferenceService(store, scorer=active_scorer(store))
    name = st.session_state.get("annotator")
    if name is None:
        _login(service)
        return
    standing = _standing(service, name)
    if standing is None:
        return
    flash = st.session_state.pop("vote_flash", None)
    if flash:
        st.success(flash)
    try:
        ticket = service.next_pair(name)
    except NoPairError as err:
        if err.code in NO_PAIR_HINTS:
            st.info(NO_PAIR_HINTS[err.code])
        else:
            st.error(str(err))
        return
    _pair(ticket)
    _ballot(service, name, ticket, standing)


def _login(service: PreferenceService) -> None:
    mode = auth.login_mode()
    tabs = st.tabs(["By name", "By token"] if mode == "name" else ["By token"])
    if mode == "name":
        with tabs[0], st.form("login_name"):
            typed = st.text_input("Your name", max_chars=100)
            if st.form_submit_button("Log in"):
                try:
                    standing = service.add_annotator(typed)
                except ValueError as err:
                    st.error(str(err))
                else:
                    _enter(standing.name)
    with tabs[-1], st.form("login_token"):
        typed = st.text_input("Your log-in token", type="password")
        if st.form_submit_button("Log in with token"):
            try:
                name = auth.name_from_token(typed)
            except ValueError as err:
                st.error(str(err))
            else:
                _enter(service.add_annotator(name).name)


def _enter(name: str) -> None:
    st.session_state["annotator"] = name
    st.rerun()


def _standing(service: PreferenceService, name: str):
    """The annotator's bar (who, where in qualification, log out); None when they cannot vote."""
    standing = service.standing(name)
    left, right = st.columns([4, 1])
    left.markdown(f"Logged in as **{plain(standing.name)}** · {standing.answered} pairs answered")
    if right.button("Log out"):
        st.session_state.pop("annotator", None)
        st.rerun()
    with st.expander("Your log-in token (to come back as the same annotator)"):
        st.code(auth.issue_token(standing.name), language=None)
    if standing.status == "qualifying":
        config = service.config
        st.info(
            f"Qualification: first, {config.qualification_pairs} pairs whose answer is known (one rollout "
            f"succeeded, the other clearly failed); {config.qualification_needed} right answers qualify you. "
            f"Done: {standing.qualification_answered} of {standing.qualification_pairs}."
        )
    elif standing.status in ("failed", "disqualified"):
        verb = "did not qualify" if standing.status == "failed" else "were disqualified"
        st.error(f"You {verb}: {plain(standing.reason)}. Your votes do not count.")
        return None
    return standing


VIDEO_WIDTH = 448  # px: the 224 px camera videos at 2×, side by side, not stretched further


def _pair(ticket) -> None:
    shown = ", ".join(ticket.perturbations) or "none"
    st.markdown(f"**Task:** {ticket.instruction or ticket.task}")
    st.markdown(f"**Twin:** {ticket.twin} · **perturbations:** {shown}")
    a, b = st.columns(2)
    a.subheader("A")
    b.subheader("B")
    for camera in ticket.left:
        try:
            left, right = blind_videos(ticket.left[camera], ticket.right[camera])
        except VideoError:  # the file's path would name the episode: say what, not where
            st.error(f"A {camera} video of this pair cannot be read; the pair cannot be judged.")
            continue
        a.video(left, width=VIDEO_WIDTH)
        b.video(right, width=VIDEO_WIDTH)
        a.caption(camera)
        b.caption(camera)


@st.cache_data(max_entries=64, show_spinner=False)
def blind_videos(left: str, right: str) -> tuple[bytes, bytes]:
    """Both sides' videos at one length and frame rate, the shorter holding its last frame, as
    bytes served under content hashes: neither the length nor a file name shows which episode
    ended first or whose it is."""
    first, second = same_length_mp4s([left, right])
    return first, second


def _ballot(service: PreferenceService, name: str, ticket, standing) -> None:
    with st.form("ballot", clear_on_submit=True):
        choice = st.radio(
            "Which did the task better?", list(SIDES), format_func=LABELS.get, index=None, horizontal=True
        )
        limit = service.config.max_reason_chars
        reason = st.text_area("Why?", max_chars=limit, placeholder="What decided it")
        if not st.form_submit_button("Submit vote", type="primary"):
            return
    if choice is None:
        st.error("Choose A, tie or B first.")
        return
    if not reason.strip():
        st.error("Give a reason: a few words on what decided it.")
        return
    try:
        after = service.vote(name, ticket.token, SIDES[choice], reason)
    except VoteRejected as err:
        st.error(f"That vote did not count: {plain(err)}")
        return
    st.session_state["vote_flash"] = _outcome(standing, after)
    st.rerun()


def _outcome(before, after) -> str:
    if before.status == "qualifying" and after.status == "qualified":
        return f"You qualified ({after.reason}). From now on your votes count."
    if after.status == "failed":
        return "Vote recorded."  # the standing bar says what happened
    return "Vote recorded. Here is the next pair."


render()
