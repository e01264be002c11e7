"""Where JR and its files are (prefix `PAYSTREAM_LOAD_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.paths import JR_TEMPLATES_DIR, RUN_DIR, cache_dir


class LoadSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_LOAD_", frozen=True)

    jr_bin: Path = Field(default_factory=lambda: cache_dir() / "bin" / "jr")
    jr_system_dir: Path = Field(default_factory=lambda: cache_dir() / "jr")
    templates_dir: Path = JR_TEMPLATES_DIR
    # The librdkafka config JR reads, and JR's own output, per run.
    conf_dir: Path = RUN_DIR / "conf" / "jr"
    log_dir: Path = RUN_DIR / "logs" / "jr"
    progress_interval_seconds: float = Field(default=2.0, gt=0)
    # JR's passes are no shorter than this: faster rates put more messages in each pass.
    min_pass_interval_seconds: float = Field(default=0.2, gt=0)
