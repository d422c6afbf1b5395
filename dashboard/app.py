"""The TwinArena dashboard: ``streamlit run dashboard/app.py`` (or ``twinarena dashboard``).

Five pages over one store (:mod:`dashboard.data`): the leaderboard, a page per policy, blind
A/B voting, the twins gallery and submissions. The pages live in ``dashboard/views/`` (not
``pages/``, so Streamlit's legacy page discovery stays off) and are registered with
``st.navigation``. Every page has its own address (``/leaderboard``, ``/policy`` …); the root
address is a hidden default page that switches to the leaderboard, so ``/`` and
``/leaderboard`` show the same page (Streamlit serves a default page at ``/`` only).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # run as a script by `streamlit run`: make `dashboard` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import data  # noqa: E402

VIEWS = Path(__file__).resolve().parent / "views"
PAGES = (  # file, title, icon, url path
    ("leaderboard.py", "Leaderboard", ":material/leaderboard:", "leaderboard"),
    ("policy.py", "Policy", ":material/smart_toy:", "policy"),
    ("vote.py", "Vote", ":material/how_to_vote:", "vote"),
    ("twins.py", "Twins", ":material/view_in_ar:", "twins"),
    ("submit.py", "Submit", ":material/upload:", "submit"),
)


def main() -> None:
    st.set_page_config(page_title="TwinArena", page_icon=":material/leaderboard:", layout="wide")
    pages = [
        st.Page(VIEWS / file, title=title, icon=icon, url_path=path) for file, title, icon, path in PAGES
    ]

    def home() -> None:  # "/": the leaderboard, under its own address (the query kept)
        st.switch_page(pages[0], query_params=st.query_params.to_dict())

    page = st.navigation([st.Page(home, title="TwinArena", default=True, visibility="hidden"), *pages])
    from benchmark.errors import StoreError

    try:
        data.store()
    except StoreError as err:
        st.error(f"The store cannot be opened: {err}")
        st.info(
            "Start the dashboard on a store that exists: `twinarena dashboard --db URL` "
            "(a SQLite file, `sqlite:///path/twinarena.db`, or `postgresql://user:password@host/db`)."
        )
        st.stop()
    st.sidebar.caption(f"Store: `{data.shown_url()}`")
    page.run()


main()
