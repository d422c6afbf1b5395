"""The results store: the catalogue database and the artefact folder behind one small, typed API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from benchmark.errors import StoreError
from benchmark.policies.protocol import PolicyInfo
from benchmark.store import campaigns, policies, queries
from benchmark.store.artefacts import ArtefactFolder
from benchmark.store.campaigns import CampaignRecord, TwinRecord
from benchmark.store.engine import create_store_engine, data_home, masked, resolve_url
from benchmark.store.judgments import EpisodeJudgment
from benchmark.store.models import ValidityResult
from benchmark.store.policies import PolicyRecord
from benchmark.store.schema import upgrade

ARTEFACTS = "artefacts"  # the default artefact folder, inside the data folder


def open_store(url: str | None = None, artefacts: str | Path | None = None) -> Store:
    """Open the store, creating or upgrading its schema to the newest revision.

    ``url``: a SQLAlchemy URL, else ``$TWINARENA_DB``, else ``twinarena.db`` in the data folder
    (``$TWINARENA_HOME``, default ``~/.local/share/twinarena``). ``artefacts``: the artefact
    folder, else ``$TWINARENA_ARTEFACTS``, else ``artefacts/`` beside a SQLite file, or in the data
    folder for a server. :class:`StoreError` when the database cannot be used; its message names
    the URL with the password masked.
    """
    engine = create_store_engine(resolve_url(url))
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, ArtefactFolder(artefacts if artefacts is not None else default_artefacts(engine)))


def default_artefacts(engine: Engine) -> Path:
    """Where a store's artefacts go unless told: ``$TWINARENA_ARTEFACTS``, else beside its SQLite
    file, else in the data folder."""
    if os.environ.get("TWINARENA_ARTEFACTS"):
        return Path(os.environ["TWINARENA_ARTEFACTS"]).expanduser()
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database).expanduser().resolve().parent / ARTEFACTS
    return data_home() / ARTEFACTS


class Store:
    """The catalogue and the artefacts. Every method runs in its own transaction and returns plain
    records; close the store (or use it in ``with``) when done."""

    def __init__(self, engine: Engine, artefacts: ArtefactFolder):
        self.engine = engine
        self.artefacts = artefacts
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL, password masked."""
        return masked(self.engine.url)

    def __repr__(self) -> str:
        return f"Store({self.url!r}, artefacts={str(self.artefacts.root)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on an error.
        A lost connection is raised as :class:`StoreError`."""
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as err:
            raise StoreError(f"database {self.url}: {str(err.orig).strip()}") from None

    # -- artefacts ----------------------------------------------------------------------------
    def put_artefact(self, path: str | Path) -> tuple[str, str]:
        """Store a file or folder by content; return its SHA-256 and its path in the artefact folder."""
        return self.artefacts.put(path)

    def artefact_path(self, relative: str) -> Path:
        """The absolute path of a stored artefact (:class:`StoreError` if it is missing)."""
        return self.artefacts.path(relative)

    # -- policies -----------------------------------------------------------------------------
    def add_policy(
        self, info: PolicyInfo, sha256: str | None = None, artefact: str | None = None
    ) -> PolicyRecord:
        """Register a policy; ``sha256`` and ``artefact`` as :meth:`put_artefact` returned them. The same
        name with the same SHA-256 and metadata returns the existing record (a re-run is harmless);
        any other policy under a registered name raises :class:`StoreError`."""
        return self._retrying(policies.add_policy, info, sha256, artefact)

    def get_policy(self, name: str) -> PolicyRecord | None:
        """The policy registered as ``name``, or None."""
        with self.session() as session:
            return policies.get_policy(session, name)

    def list_policies(self, status: str | None = None) -> list[PolicyRecord]:
        """Every policy by name, or only those with ``status`` (``registered`` or ``failed``)."""
        with self.session() as session:
            return policies.list_policies(session, status)

    def mark_policy_failed(self, name: str, reason: str) -> PolicyRecord:
        """Mark a registered policy ``failed`` with the reason (:class:`StoreError` for an unknown name)."""
        with self.session() as session:
            return policies.mark_policy_failed(session, name, reason)

    # -- twins and campaigns ------------------------------------------------------------------
    def add_twin(self, folder: str | Path) -> TwinRecord:
        """Register a twin package (checked, then copied into the artefact folder) by its content
        hash, computed here over every file of the package (what twin.json claims is not taken on
        trust: an edited package is refused, never filed under the genuine twin's hash); a twin
        already registered returns its record without copying again."""
        from twin.package import TwinPackageError, check_twin, read_twin

        try:
            twin = read_twin(folder)
        except TwinPackageError as err:
            raise StoreError(f"twin {folder}: {err}") from None
        problems = check_twin(folder)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise StoreError(f"twin {folder} is not a sound package: {problems[0]}{more}")
        with self.session() as session:
            known = campaigns.get_twin(session, twin.content_hash)
        if known is not None:
            return known
        sha, rel = self.put_artefact(twin.root)
        manifest = {k: twin.manifest[k] for k in ("format", "name", "source") if k in twin.manifest}
        return self._retrying(
            campaigns.add_twin,
            twin.content_hash,
            twin.name,
            str(twin.task["name"]),
            str(Path(folder).resolve()),
            sha,
            rel,
            manifest,
        )

    def get_twin(self, content_hash: str) -> TwinRecord | None:
        with self.session() as session:
            return campaigns.get_twin(session, content_hash)

    def list_twins(self) -> list[TwinRecord]:
        with self.session() as session:
            return campaigns.list_twins(session)

    def add_campaign(
        self, key: str, name: str, spec: dict, scenarios: list[dict], jobs: list[tuple[int, str]]
    ) -> tuple[CampaignRecord, dict[str, int]]:
        """Create or find the campaign ``key`` with its scenarios (column dicts) and its jobs
        (policy id, scenario key), in one transaction; return it and the scenario ids by key."""

        def write(session):
            campaign = campaigns.add_campaign(session, key, name, spec)
            ids = campaigns.add_scenarios(session, scenarios)
            campaigns.add_jobs(session, campaign.id, [(policy, ids[scenario]) for policy, scenario in jobs])
            return campaign, ids

        return self._retrying(write)

    def get_campaign(self, name: str) -> CampaignRecord | None:
        with self.session() as session:
            return campaigns.get_campaign(session, name)

    def finished_jobs(self, campaign_id: int) -> set[tuple[int, int]]:
        """The campaign's (policy id, scenario id) jobs that have an episode."""
        with self.session() as session:
            return campaigns.finished_jobs(session, campaign_id)

    def add_episode(
        self,
        policy_id: int,
        scenario_id: int,
        outcome: dict,
        folder: str | Path,
        worker: str = "",
        *,
        judgment: EpisodeJudgment,
    ) -> int | None:
        """Store an episode folder as an artefact, then its row and ``judgment`` (the state judge's,
        :func:`benchmark.judges.state.judge_state`) in one transaction. Return the episode id, or
        None when the (policy, scenario) already has an episode: a job is stored once, however
        often it runs."""
        folder = Path(folder)
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        sha, rel = self.put_artefact(folder)
        try:
            with self.session() as session:
                if campaigns.has_episode(session, policy_id, scenario_id):
                    return None
                return campaigns.add_episode(
                    session, policy_id, scenario_id, outcome, sha, rel, files, worker, judgment=judgment
                )
        except IntegrityError:  # another evaluator stored the same job since we looked
            return None

    # -- queries ------------------------------------------------------------------------------
    def leaderboard(
        self, judge: str = "state", campaign: str | None = None, model: str | None = None, **cells
    ) -> list[queries.LeaderboardRow]:
        """Policies ranked under ``judge`` (see :func:`benchmark.store.queries.leaderboard`;
        ``cells``: its ``twin``, ``task`` and ``axis`` filters)."""
        with self.session() as session:
            return queries.leaderboard(session, judge, self.campaign_id(session, campaign), model, **cells)

    def robustness(
        self, campaign: str | None = None, policy: str | None = None
    ) -> list[queries.RobustnessRow]:
        """Success per policy, twin, task, axis and level."""
        with self.session() as session:
            return queries.robustness(session, self.campaign_id(session, campaign), policy)

    def episodes(self, campaign: str | None = None, **filters) -> list[queries.EpisodeRow]:
        """Episodes, newest first (filters: policy, twin, axis, termination, limit, offset)."""
        with self.session() as session:
            return queries.episodes(session, self.campaign_id(session, campaign), **filters)

    def campaigns(self) -> list[queries.CampaignProgress]:
        """Every campaign with its job count and how many are done."""
        with self.session() as session:
            return queries.campaign_progress(session)

    def resolve_campaign(self, name: str | None) -> int | None:
        """:meth:`campaign_id` in its own transaction: the id of campaign ``name`` (None for None),
        :class:`StoreError` naming the known ones."""
        with self.session() as session:
            return self.campaign_id(session, name)

    def campaign_id(self, session, name: str | None) -> int | None:
        """The id of campaign ``name`` (None for None); :class:`StoreError` naming the known ones."""
        if name is None:
            return None
        record = campaigns.get_campaign(session, name)
        if record is None:
            known = ", ".join(c.name for c in campaigns.list_campaigns(session)) or "none yet"
            raise StoreError(f"unknown campaign {name!r} in {self.url} (campaigns: {known})")
        return record.id

    def _retrying(self, write, *args):
        """``write(session, *args)`` in a transaction, once more if a concurrent writer inserted
        the same natural key first (the second run finds that row)."""
        try:
            with self.session() as session:
                return write(session, *args)
        except IntegrityError:
            with self.session() as session:
                return write(session, *args)

    # -- for the dashboard ----------------------------------------------------------------------
    def ratings(self, judge: str, campaign: str | None = None) -> list[queries.RatingRow]:
        """The ratings stored for ``judge`` over the whole store, or fitted to one campaign."""
        with self.session() as session:
            self.campaign_id(session, campaign)  # an unknown campaign is named as such
            return queries.ratings(session, judge, campaign or "")

    def facets(self) -> queries.Facets:
        """The twin names, tasks and perturbation axes the stored scenarios have."""
        with self.session() as session:
            return queries.facets(session)

    def terminations(self, campaign: str | None = None, policy: str | None = None) -> list[tuple[str, int]]:
        """Episodes per termination reason, most first."""
        with self.session() as session:
            return queries.terminations(session, self.campaign_id(session, campaign), policy)

    # -- what a policy's stress-test report reads (benchmark/report) ----------------------------
    def cell_outcomes(self, policy: str, campaign: str | None = None) -> list[queries.CellOutcome]:
        """A policy's success count and progress per (axis, level), pooled over twins."""
        with self.session() as session:
            return queries.cell_outcomes(session, policy, self.campaign_id(session, campaign))

    def policy_twins(self, policy: str, campaign: str | None = None) -> list[queries.PolicyTwin]:
        """The twins a policy played in, with its episode and success counts in each."""
        with self.session() as session:
            return queries.policy_twins(session, policy, self.campaign_id(session, campaign))

    def judge_pairing(
        self, policy: str, judge: str = "vlm", campaign: str | None = None
    ) -> list[queries.JudgePairing]:
        """A policy's episodes scored by the state judge and ``judge``, as sums per model and success."""
        with self.session() as session:
            return queries.judge_pairing(session, policy, judge, self.campaign_id(session, campaign))

    # -- validity studies (benchmark/validity) ---------------------------------------------------
    def add_validity(self, twin_hash: str, reference_hash: str | None, result: dict) -> int:
        """Store one validity study of the registered twin ``twin_hash`` against the registered
        reference world ``reference_hash`` (None: against rates measured on a real robot).
        ``result``: reference (scene name), task, n_policies, n_scenarios, pearson/mmrv/kendall as
        ``{"value", "low", "high"}``, passed, per_policy, blame, detail. Return its id."""
        with self.session() as session:
            ids: dict[str, int | None] = {"reference": None}
            for key, content_hash in (("twin", twin_hash), ("reference", reference_hash)):
                if content_hash is None:
                    continue
                record = campaigns.get_twin(session, content_hash)
                if record is None:
                    raise StoreError(f"{key} {content_hash[:12]}… is not a registered twin in {self.url}")
                ids[key] = record.id
            metrics = {
                f"{name}{suffix}": float(result[name][part])
                for name in ("pearson", "mmrv", "kendall")
                for suffix, part in (("", "value"), ("_low", "low"), ("_high", "high"))
            }
            row = ValidityResult(
                twin_id=ids["twin"],
                reference_twin_id=ids["reference"],
                reference=str(result["reference"]),
                task=str(result["task"]),
                n_policies=int(result["n_policies"]),
                n_scenarios=int(result["n_scenarios"]),
                passed=bool(result["passed"]),
                blame=result.get("blame"),
                per_policy=list(result["per_policy"]),
                detail=dict(result.get("detail", {})),
                **metrics,
            )
            session.add(row)
            session.flush()
            return row.id

    def validity_results(self, twin_hash: str | None = None) -> list[queries.ValidityRow]:
        """Validity studies, newest first (see :func:`benchmark.store.queries.validity_results`)."""
        with self.session() as session:
            return queries.validity_results(session, twin_hash)
