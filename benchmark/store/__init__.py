"""The results store: a catalogue database (SQLite by default, PostgreSQL by URL; schema migrated by
Alembic on open) and a folder of artefacts addressed by content hash::

    with open_store() as store:  # $TWINARENA_DB, else ~/.local/share/twinarena/twinarena.db
        sha, rel = store.put_artefact("policy.pt")
        store.add_policy(PolicyInfo("my-policy", kind="torchscript"), sha, rel)
"""

from benchmark.errors import StoreError
from benchmark.store.artefacts import content_sha256
from benchmark.store.models import POLICY_STATUSES
from benchmark.store.policies import PolicyRecord
from benchmark.store.store import Store, open_store

__all__ = ["POLICY_STATUSES", "PolicyRecord", "Store", "StoreError", "content_sha256", "open_store"]
