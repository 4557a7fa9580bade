"""The heavy objects of one running service, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.db import Database
from app.services.grouping import GroupingRuntime
from app.services.ingest import Ingestor
from app.services.search import CentroidIndex
from embeddings.protocol import Embedder


@dataclass
class ServiceState:
    settings: Settings
    db: Database
    embedder: Embedder
    runtime: GroupingRuntime
    ingestor: Ingestor
    centroids: CentroidIndex

    @classmethod
    def start(cls, settings: Settings, embedder: Embedder | None = None) -> ServiceState:
        """Connect, migrate, load the model and rebuild the live grouper."""
        db = Database.from_url(settings.database_url)
        if settings.migrate_on_start:
            from app.db import migrate

            migrate(db.engine)
        if embedder is None:
            from embeddings.sentence import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder(
                settings.model_path, settings.max_tokens, settings.embed_batch_size
            )
        runtime = GroupingRuntime(settings)
        with db.session() as session:
            runtime.rebuild(session)
        ingestor = Ingestor(db, embedder, runtime)
        return cls(settings, db, embedder, runtime, ingestor, CentroidIndex())

    def close(self) -> None:
        self.db.dispose()
