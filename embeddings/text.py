"""What text of an article is embedded."""

from __future__ import annotations

# The model reads at most a few hundred word pieces; passing more characters only
# costs tokenizer time. ~6 characters per word piece on news prose, with margin.
_MAX_CHARS_PER_TOKEN = 6


def embedding_text(title: str, body: str, max_tokens: int = 256) -> str:
    """Title, then the lead of the body, cut to roughly ``max_tokens`` word pieces.

    The model truncates exactly; this cut only bounds the tokenizer's work.
    """
    title, body = title.strip(), body.strip()
    text = f"{title}.\n{body}" if title and body else title or body
    return text[: max_tokens * _MAX_CHARS_PER_TOKEN]
