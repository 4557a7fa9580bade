"""Pure grouping logic: numpy in, decisions and metrics out. Knows no HTTP or SQL."""

from clustering.centroid import CentroidGrouper
from clustering.evidence import EvidenceGrouper
from clustering.join_model import JoinModel
from clustering.online import Decision, Item, OnlineGrouper

__all__ = [
    "CentroidGrouper",
    "Decision",
    "EvidenceGrouper",
    "Item",
    "JoinModel",
    "OnlineGrouper",
]
