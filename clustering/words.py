"""Words of a text: the one tokenizer and stop-word list every lexical component uses.

A word is a run of letters and digits with at most one inner apostrophe ("O'Brien",
"don't"); underscores, hyphens and other punctuation separate words. Lexical
evidence (:mod:`clustering.terms`), labels (:mod:`clustering.labels`), near-duplicate
shingles (:mod:`clustering.minhash`) and word search all read words this way, so a
term means the same thing wherever it is counted.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
"""One word (see the module docstring); ``WORD.finditer`` gives positions too."""

COMPOUND = re.compile(rf"{WORD.pattern}(?:-{WORD.pattern})*")
"""Words joined by hyphens ("23-year-old", "al-Assad"): one word of a label."""

STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours said says say told according new one two also after year years day days week
    would could may might many much get got like last first time people news report
    reports reported read more share click comment comments via photo video image""".split()
)
"""Lower-case function words and newswire filler that tell no story from another."""
