"""Knowledge answers: the fallback for any question that is not an action."""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import INTENT_CHOICE_PREFIX, Turn, human_choice
from bot.knowledge import Article, SearchHit
from bot.messages import ArticleCard, Choice, Reply
from bot.store.conversations import PendingFlow

_SOLVED = "kb:solved"
_NOT_QUITE = "kb:not_quite"
_READ = "kb:read:"


def _card(article: Article) -> ArticleCard:
    summary = article.summary or article.body[:160]
    return ArticleCard(article.article_id, article.title, summary)


class Knowledge:
    """Answer a question from the self-help articles: `outlook keeps asking for my password`."""

    intent: ClassVar[str] = "kb_question"

    async def handle(self, turn: Turn) -> list[Reply]:
        t, services = turn.t, turn.services
        limit = services.settings.kb.max_results
        result = services.kb.search(turn.msg.text, turn.t.lang, limit=limit + 3)
        if not result.answered:
            turn.expect("kb_question.abstained", {"query": turn.msg.text})
            return [Reply(t("kb.no_answer"), choices=(human_choice(t),))]
        shown = [h for h in result.hits[:limit] if h.score >= services.kb.min_score]
        rest = [h.article.article_id for h in result.hits if h not in shown]
        return [self._offer(turn, turn.msg.text, shown, rest, first=True)]

    def _offer(
        self, turn: Turn, query: str, shown: list[SearchHit], rest: list[str], *, first: bool
    ) -> Reply:
        t = turn.t
        turn.expect(
            "kb_question.feedback",
            {
                "query": query,
                "shown": [h.article.article_id for h in shown],
                "rest": rest,
            },
        )
        reads = tuple(
            Choice(t("kb.read", title=h.article.title), _READ + h.article.article_id) for h in shown
        )
        return Reply(
            t("kb.found" if first else "kb.more"),
            cards=tuple(_card(h.article) for h in shown),
            choices=(
                *reads,
                Choice(t("kb.solved"), _SOLVED, "primary"),
                Choice(t("kb.not_quite"), _NOT_QUITE),
                human_choice(t),
            ),
        )

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t, kb = turn.t, turn.services.kb
        if pending.flow == "kb_question.abstained":
            return None
        shown: list[str] = pending.state.get("shown", [])
        rest: list[str] = pending.state.get("rest", [])
        choices = (
            *(Choice(aid, _READ + aid) for aid in shown),
            Choice(t("kb.solved"), _SOLVED),
            Choice(t("kb.not_quite"), _NOT_QUITE),
        )
        picked = turn.picked(choices)
        if picked is None:
            return None
        if picked.startswith(_READ):
            article = kb.get(picked.removeprefix(_READ))
            if article is None:
                return [Reply(t("kb.gone"), choices=(human_choice(t),))]
            article = kb.in_language(article, t.lang)
            return [
                Reply(
                    f"*{article.title}*\n\n{article.body}",
                    choices=(
                        Choice(t("kb.solved"), _SOLVED, "primary"),
                        Choice(t("kb.not_quite"), _NOT_QUITE),
                        human_choice(t),
                    ),
                )
            ]
        if picked == _SOLVED:
            turn.done()
            return [Reply(t("kb.glad"))]
        more = [kb.get(aid) for aid in rest]
        hits = [SearchHit(kb.in_language(a, t.lang), 0.0) for a in more if a is not None]
        if not hits:
            turn.done()
            return [
                Reply(
                    t("kb.no_more"),
                    choices=(Choice(t("menu.human"), INTENT_CHOICE_PREFIX + "human", "primary"),),
                )
            ]
        limit = turn.services.settings.kb.max_results
        next_rest = [h.article.article_id for h in hits[limit:]]
        query = str(pending.state.get("query", ""))
        return [self._offer(turn, query, hits[:limit], next_rest, first=False)]
