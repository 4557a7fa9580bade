"""Near-duplicate text by shingled MinHash: pure numpy, deterministic across processes.

Texts become sets of word 5-shingles (words as :mod:`clustering.words` reads them),
each hashed to 32 bits (CRC-32 of the words, mixed with a fixed polynomial, never
Python's salted ``hash``). A signature is the minimum over the set of each of
``PERMUTATIONS`` multiply-add-shift hashes ``((a*x + b) mod 2**64) >> 32``
(Dietzfelbinger's 2-universal family, no division, so it is fast in numpy); the share
of equal slots estimates the Jaccard similarity.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from clustering.words import WORD

SHINGLE_WORDS = 5
PERMUTATIONS = 128
_SHIFT = np.uint64(32)
_MASK32 = np.uint64(0xFFFF_FFFF)
_MIX = np.uint64(0x9E37_79B9_7F4A_7C15)

_rng = np.random.default_rng(20180913)  # fixed seed: signatures are comparable forever
_A = _rng.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _rng.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64) * np.uint64(2)
# Above every hash value (they fit in 32 bits): marks the signature of an empty text.
_NONE = np.uint64(2**32)
EMPTY = np.full(PERMUTATIONS, _NONE, dtype=np.uint64)


def shingles(text: str, size: int = SHINGLE_WORDS) -> NDArray[np.uint64]:
    """Sorted unique 32-bit hashes (as uint64) of the lower-cased word ``size``-shingles.

    A text of fewer than ``size`` words is one shingle of all its words; no words, none.
    """
    words = WORD.findall(text.lower())
    if not words:
        return np.zeros(0, dtype=np.uint64)
    # One encode and a C-level map: words hold no ASCII space, so split() gives them back.
    ids = np.fromiter(map(zlib.crc32, " ".join(words).encode().split()), np.uint64, len(words))
    span = min(size, len(ids))
    count = len(ids) - span + 1
    mixed = np.zeros(count, dtype=np.uint64)
    for offset in range(span):  # uint64 arithmetic wraps: a rolling polynomial hash
        mixed = mixed * _MIX + ids[offset : offset + count]
    mixed ^= mixed >> _SHIFT
    return np.unique(mixed & _MASK32)


def signature(shingle_hashes: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """MinHash signature, shape ``(PERMUTATIONS,)``; an empty set gives ``EMPTY``."""
    if shingle_hashes.size == 0:
        return EMPTY.copy()
    hashed = np.multiply.outer(shingle_hashes, _A)  # wraps mod 2**64, as intended
    hashed += _B
    hashed >>= _SHIFT
    result: NDArray[np.uint64] = hashed.min(axis=0)
    return result


def estimated_jaccard(signatures: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Pairwise estimated Jaccard of ``(n, PERMUTATIONS)`` signatures: an ``(n, n)`` matrix.

    Empty texts (``EMPTY`` signatures) score 0 against everything, themselves included.
    """
    n = signatures.shape[0]
    scores = np.zeros((n, n), dtype=np.float64)
    for i in range(n):  # row by row keeps memory at n * PERMUTATIONS, not n * n * PERMUTATIONS
        scores[i] = (signatures == signatures[i]).mean(axis=1)
    empty = (signatures == _NONE).all(axis=1)
    scores[empty, :] = 0.0
    scores[:, empty] = 0.0
    return scores


def exact_overlap(a: NDArray[np.uint64], b: NDArray[np.uint64]) -> tuple[float, float]:
    """Jaccard of two shingle sets and the share of ``a`` found in ``b`` (containment)."""
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    common = np.intersect1d(a, b, assume_unique=True).size
    return common / (a.size + b.size - common), common / a.size
