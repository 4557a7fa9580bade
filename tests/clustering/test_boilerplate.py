from clustering.boilerplate import BoilerplateLines

DAY = 86_400.0
FURNITURE = "Please enable JavaScript to watch this video"


def body(story: str) -> str:
    return f"{story}\n{FURNITURE}\n© 2016 Example Media Group."


def test_line_recurring_over_days_is_stripped_and_the_story_kept() -> None:
    lines = BoilerplateLines()
    for day, story in enumerate(["A man was shot on Elm Street.", "Two hurt in a crash on I-95."]):
        lines.observe(body(story), day * 2 * DAY)
    assert lines.cut(body("A fire broke out downtown.")) == body("A fire broke out downtown.")
    lines.observe(body("Police seek a robbery suspect."), 5 * DAY)
    stripped = lines.cut(body("A fire broke out downtown."))
    assert stripped == "A fire broke out downtown."


def test_syndicated_copy_within_a_day_keeps_its_paragraphs() -> None:
    lines = BoilerplateLines()
    wire = "The governor signed the budget bill late on Tuesday night.\nIt takes effect in July."
    for hour in range(5):
        lines.observe(wire, hour * 3600.0)
    assert lines.cut(wire) == wire


def test_undated_articles_need_more_sightings() -> None:
    lines = BoilerplateLines(min_articles_undated=4)
    for n in range(3):
        lines.observe(f"Story number {n} about something.\n{FURNITURE}", None)
    assert FURNITURE in lines.cut(f"x\n{FURNITURE}")
    lines.observe(f"Story number 3 about something.\n{FURNITURE}", None)
    assert lines.cut(f"Fresh text here.\n{FURNITURE}") == "Fresh text here."


def test_case_and_spacing_do_not_hide_a_recurring_line() -> None:
    lines = BoilerplateLines(min_articles=2, min_span_days=0.0)
    lines.observe("Sign up for our newsletter today", 0.0)
    lines.observe("SIGN UP  for our   newsletter today", 0.0)
    assert lines.cut("Real news.\n sign up for our newsletter today ") == "Real news."


def test_a_line_counts_once_per_article() -> None:
    lines = BoilerplateLines(min_articles=2, min_span_days=0.0)
    lines.observe(f"{FURNITURE}\n{FURNITURE}\n{FURNITURE}", 0.0)
    assert lines.cut(FURNITURE) == FURNITURE


def test_table_stays_bounded_and_keeps_recurring_lines() -> None:
    lines = BoilerplateLines(min_articles=2, min_span_days=0.0, max_lines=100)
    lines.observe(FURNITURE, 0.0)
    lines.observe(FURNITURE, 0.0)
    for n in range(500):
        lines.observe(f"unique line number {n} of the stream", 0.0)
    assert len(lines) <= 100
    assert lines.cut(f"news\n{FURNITURE}") == "news"


def test_evidence_grouper_ignores_learned_furniture_in_lexical_evidence() -> None:
    import numpy as np

    from clustering import EvidenceGrouper, Item
    from clustering.join_model import FEATURES

    rng = np.random.default_rng(7)

    def item(text: str, day: float) -> Item:
        v = rng.normal(size=384).astype(np.float32)
        return Item(v / np.linalg.norm(v), "", f"{text}\n{FURNITURE}", day * DAY)

    stories = ["Harbor dredging contract awarded", "Orchard frost damages apples"]
    stories += ["Library extends weekend hours", "Stadium roof repairs delayed"]
    word_max = FEATURES.index("word_max")
    for flag in (False, True):
        grouper = EvidenceGrouper(strip_boilerplate=flag)
        for key, text in enumerate(stories):
            grouper.add(item(text, 2.0 * key), key)
        keys, feats = grouper.candidates(item("Bridge toll rises next spring", 8.0))
        assert len(keys) == len(stories)
        shared = feats[:, word_max].max()
        assert (shared == 0.0) if flag else (shared > 0.0), (flag, shared)
