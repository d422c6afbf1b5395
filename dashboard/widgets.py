"""Small pieces the pages share: the "all" choice of a filter, selectboxes kept in the URL, the
one table style (:mod:`dashboard.fmt`'s formats, empty cells as "—", fitting the page) and the
empty-store message."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from dashboard.fmt import EMPTY, PERCENT, plain

ALL = "(all)"
ALL_IN_URL = "all"  # how ALL reads in a query parameter (``?campaign=all``)

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


def in_url(choice: str) -> str:
    """A choice as its query parameter reads: :data:`ALL` as ``all``."""
    return ALL_IN_URL if choice == ALL else str(choice)


def url_choice(
    container,
    label: str,
    options: Sequence[str],
    key: str,
    param: str,
    what: str,
    format_func: Callable[[str], str] = str,
    default: str | None = None,
    **kwargs,
) -> str:
    """A selectbox kept in the URL's ``?param=``: the page opens on the URL's value (else on
    ``default``, else the first option), and the choice is written back, so a link or a reload
    shows the same thing. A value the options do not have is an error that names it (and the page
    stops), never some other choice."""
    if key not in st.session_state:
        wanted = st.query_params.get(param)
        if wanted is not None:
            match = [o for o in options if in_url(o) == wanted]
            if not match:
                unknown(what, param, wanted, [in_url(o) for o in options])
            st.session_state[key] = match[0]
        elif default is not None and default in options:
            st.session_state[key] = default
    value = container.selectbox(label, options, key=key, format_func=format_func, **kwargs)
    st.query_params[param] = in_url(value)
    return value


def unknown(what: str, param: str, value: str, known: Sequence[str]) -> None:
    """The page for an unknown query parameter value: an error naming it and the known ones; stops."""
    shown = ", ".join(f"`{k}`" for k in known[:20]) + (" …" if len(known) > 20 else "")
    st.error(f"There is no {what} {plain(value)} in the store (from the address: ?{param}={plain(value)}).")
    st.markdown(
        f"Known {what} values: {shown or EMPTY}. Choose one of them, or open the page without `?{param}=`."
    )
    st.stop()


def rate_column(label: str | None = None, help: str | None = None, width=None):
    """A rate column (values in percent points, 0–100): a bar, green from half up and red below,
    and the number as ``57 %``."""
    return st.column_config.ProgressColumn(
        label, format=PERCENT, min_value=0, max_value=100, color="auto", help=help, width=width
    )


def percent_column(label: str | None = None, help: str | None = None, width=None):
    """A percent-point column shown as ``57 %`` without a bar."""
    return st.column_config.NumberColumn(label, format=PERCENT, help=help, width=width)


def table(rows, column_config: dict | None = None, **kwargs) -> None:
    """A dataframe in the dashboard's one style: no index, the page's width, "—" for missing values."""
    st.dataframe(
        rows, hide_index=True, width="stretch", placeholder=EMPTY, column_config=column_config, **kwargs
    )


def empty_store(what: str, url: str) -> None:
    """The empty state: what is missing and how to fill the store, instead of an empty page."""
    st.info(f"The store `{url}` holds no episodes yet, so there is no {what} to show.")
    st.markdown(GETTING_STARTED.format(url=url))
