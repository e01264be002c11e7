"""What the routers get injected: the app's scorer and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from inference.metrics import InferenceMetrics
from inference.scoring import Scorer


@dataclass(frozen=True)
class InferenceState:
    """Built once per app in `inference.main.create_app`."""

    scorer: Scorer
    metrics: InferenceMetrics


def get_state(request: Request) -> InferenceState:
    state: InferenceState = request.app.state.inference
    return state


def get_scorer(request: Request) -> Scorer:
    return get_state(request).scorer


StateDep = Annotated[InferenceState, Depends(get_state)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
