"""Service settings, read once from the environment (prefix ``STORYLINE_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service. Each field is ``STORYLINE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="STORYLINE_", env_file=None, extra="ignore")

    database_url: str = Field(
        "sqlite:///storyline.db",
        description="SQLAlchemy URL; SQLite by default, postgresql+psycopg://... in production.",
    )
    migrate_on_start: bool = Field(True, description="Apply Alembic migrations at start-up.")
    model_path: str | None = Field(
        None,
        description="Local directory of a sentence-transformers model; "
        "default: the bundled all-MiniLM-L6-v2.",
    )
    embedding_model: Literal["english", "multilingual"] = Field(
        "english",
        description="english: all-MiniLM-L6-v2 (run by embedding_backend); multilingual: the "
        "multilingual Universal Sentence Encoder v3 (16 languages, numpy, bundled offline), "
        "which groups one event told in several languages into one storyline. Switching an "
        "existing store re-embeds its articles in the background.",
    )
    embedding_backend: Literal["torch", "onnx"] = Field(
        "onnx",
        description="How the english model runs. onnx: ONNX Runtime with int8 weights exported "
        "locally from the model (starts in under a second, without torch); torch: "
        "sentence-transformers itself. The multilingual model always runs in numpy.",
    )
    onnx_dir: str = Field(
        ".cache/onnx",
        description="Where the ONNX export lives; `storyline prepare` (or the first start) "
        "exports it there, and every start verifies its checksums.",
    )
    worker_processes: int = Field(
        1,
        ge=1,
        description="Processes embedding on this host (the API's in-process worker "
        "counts as one); each takes its share of the cores, so they never fight for them.",
    )
    batch_limit: int = Field(500, ge=1, description="Most articles accepted in one POST.")
    max_body_bytes: int = Field(200_000, ge=1, description="Largest article body (UTF-8 bytes).")
    max_request_bytes: int = Field(
        128 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_title_chars: int = Field(
        1000, ge=1, le=100_000, description="Longest title (characters, a headline's length)."
    )
    max_metadata_bytes: int = Field(
        16_384, ge=2, description="Largest metadata object (UTF-8 bytes of its JSON)."
    )
    max_json_depth: int = Field(
        32, ge=4, le=256, description="Deepest nesting of arrays and objects in a request body."
    )
    future_tolerance_hours: float = Field(
        24.0, ge=0, description="How far past now a published_at may lie (clock skew)."
    )
    label_interval_seconds: float = Field(
        2.0,
        ge=0,
        description="How often the serve process rebuilds due storyline labels (new "
        "storylines show their first headline until then); 0 turns it off.",
    )
    discovery_interval_seconds: float = Field(
        60.0,
        ge=0,
        description="How often the serve process repairs the recent window (batch discovery "
        "of splits and merges) when something new was grouped; 0 turns it off.",
    )
    async_ingest: bool = Field(
        False,
        description="POST answers 202 once articles are stored as pending; workers "
        "embed and group them.",
    )
    in_process_worker: bool = Field(
        True, description="With async_ingest, run a worker thread inside the API process."
    )
    lease_seconds: float = Field(
        120.0, gt=0, description="A claim not finished in this time is taken by another worker."
    )
    max_attempts: int = Field(3, ge=1, description="Embedding attempts before 'failed'.")
    max_backlog: int = Field(
        10_000, ge=1, description="Pending articles above which POST answers 503."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Level of the service's own log (stderr); DEBUG times worker rounds."
    )
    public_reads: bool = Field(
        False, description="GET endpoints need no key (a public dashboard); writes still do."
    )
    admin_key: SecretStr | None = Field(
        None,
        description="On a database with no keys, register this key (32+ characters) as the "
        "admin key instead of creating one (provisioning from a secret store).",
    )
    admin_key_file: str = Field(
        "storyline-admin.key",
        description="Where the first start writes the admin key it creates (mode 0600).",
    )
    quota_reads_per_second: float = Field(
        50.0,
        ge=0,
        description="Per key (or per address for public reads): GET requests a second, "
        "with bursts of twice that; 0 turns the limit off.",
    )
    quota_articles_per_minute: float = Field(
        6000.0,
        ge=0,
        description="Per key: articles POSTed a minute, with bursts of one minute's worth "
        "(at least one full batch); 0 turns the limit off.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port], comma-separated) whose scripts may call "
        "the API from a browser; empty: none.",
    )
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Host names (comma-separated, '*.example.org' allowed) the service "
        "answers for; other Host headers get a 400. '*': any.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text: one readable line per record; json: one JSON object per line "
        "(time, level, logger, message, request_id and each request's fields).",
    )
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("admin_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else ""
        if secret and len(secret) < 32:
            raise ValueError("an admin key must be at least 32 characters long")
        return value

    @field_validator("cors_origins", "trusted_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
