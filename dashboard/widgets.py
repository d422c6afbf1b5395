"""Small pieces the pages share: the "all" choice of a filter and the empty-store message."""

from __future__ import annotations

import streamlit as st

ALL = "(all)"

GETTING_STARTED = """\
Fill it with a campaign, for example:

```bash
twinarena evaluate --policy vision-expert --policy random --twin tray_pick --seeds 2 --db {url}
twinarena rank --judge state --db {url}
```

or run `twinarena demo` and start the dashboard on its store
(`twinarena dashboard --db sqlite:///twinarena-demo/store/twinarena.db`).
"""


def optional(choice: str) -> str | None:
    """A filter's choice, None for :data:`ALL`."""
    return None if choice == ALL else choice


def empty_store(what: str, url: str) -> None:
    """The empty state: what is missing and how to fill the store, instead of an empty page."""
    st.info(f"The store `{url}` holds no episodes yet, so there is no {what} to show.")
    st.markdown(GETTING_STARTED.format(url=url))
