"""The dashboard's reads: one open store per URL, query results cached for a short while.

The store's URL comes from ``$TWINARENA_DB`` (``twinarena dashboard --db`` sets it), else the
CLI's default SQLite file; artefacts from ``$TWINARENA_ARTEFACTS``, else beside the SQLite file.
Every read goes through :class:`benchmark.store.Store` and :mod:`benchmark.store.queries`; the
functions here only cache them (``st.cache_data``, keyed by the URL and the arguments), so the
dashboard never ranks anything itself. Writes (votes, submissions) go straight to the store and
clear what they change.
"""

from __future__ import annotations

import os

import streamlit as st

from benchmark.store.engine import masked, resolve_url

TTL_S = 30  # query results older than this are read again
ARTEFACTS_ENV = "TWINARENA_ARTEFACTS"


@st.cache_resource(show_spinner=False, on_release=lambda store: store.close())
def _open(url: str, artefacts: str | None):
    from benchmark.store import open_store

    return open_store(url, artefacts)


def url() -> str:
    """The store's URL (with its password: a cache key, never shown)."""
    return resolve_url()


def shown_url() -> str:
    """The store's URL as it may be shown, password masked."""
    return masked(url())


def store():
    """The open store (:class:`benchmark.store.Store`), shared by every session of this server."""
    return _open(url(), os.environ.get(ARTEFACTS_ENV) or None)


def leaderboard(db: str, judge: str, campaign: str | None, twin=None, task=None, axis=None) -> list:
    """``Store.leaderboard`` under ``judge`` (``twin``/``task``/``axis`` filter episode judges).
    Every argument reaches the cache by position, so pages calling it with or without the
    filters share one cached result."""
    return _leaderboard(db, judge, campaign, twin, task, axis)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def _leaderboard(db: str, judge: str, campaign: str | None, twin, task, axis) -> list:
    return store().leaderboard(judge, campaign, twin=twin, task=task, axis=axis)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def ratings(db: str, judge: str, campaign: str | None) -> list:
    """The ratings stored for ``judge`` in the campaign's scope (the whole store for None)."""
    return store().ratings(judge, campaign)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def facets(db: str):
    return store().facets()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def campaigns(db: str) -> list:
    return store().campaigns()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def policies(db: str) -> list:
    return store().list_policies()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def twins(db: str) -> list:
    return store().list_twins()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def robustness(db: str, campaign: str | None, policy: str) -> list:
    return store().robustness(campaign, policy)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def terminations(db: str, campaign: str | None, policy: str) -> list:
    return store().terminations(campaign, policy)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def episodes(db: str, campaign: str | None, **filters) -> list:
    return store().episodes(campaign, **filters)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def paired(db: str, campaign: str | None, policy: str, other: str):
    """``policy`` against ``other`` on the scenarios both played
    (:func:`benchmark.store.paired.paired_comparison`)."""
    from benchmark.store.paired import paired_comparison

    return paired_comparison(store(), policy, other, campaign)


def refresh() -> None:
    """Forget every cached query result (after a write)."""
    st.cache_data.clear()
