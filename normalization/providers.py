"""Every provider the normalisation job reads: add a mapping module, then list it here."""

from __future__ import annotations

from normalization.mapping import ProviderMapping
from normalization.square import SQUARE
from normalization.stripe import STRIPE

PROVIDERS: tuple[ProviderMapping, ...] = (STRIPE, SQUARE)
PROVIDERS_BY_NAME = {provider.name: provider for provider in PROVIDERS}
