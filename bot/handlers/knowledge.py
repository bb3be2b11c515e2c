"""Knowledge answers: the fallback for any question that is not an action.

The best 1-3 articles are offered as cards in the asker's language when a
translation exists, with "Read", "This solved it", "Not quite" and "Talk to a
person". "Not quite" offers the next candidates, then a ticket. Below the search
confidence the bot says it has no article and offers a ticket carrying the
question. Every search, card shown, article read and verdict is logged
(`helpdesk kb gaps`, `helpdesk kb stats`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar, Final

from bot.handlers.account_facts import about_the_account, facts_first
from bot.handlers.base import Turn, human_choice
from bot.handlers.tickets import propose_ticket
from bot.knowledge import Article, SearchHit, SearchResult
from bot.knowledge.library import Library
from bot.messages import ArticleCard, Choice, Reply
from bot.store.conversations import PendingFlow

_SOLVED = "kb:solved"
_NOT_QUITE = "kb:not_quite"
_TICKET = "kb:ticket"
_READ = "kb:read:"
_SHOW_RELATIVE = 0.75  # show a runner-up card when its score is this close to the best


_DID_NOT_HELP: Final = (
    "not quite", "didn't work", "didnt work", "did not work", "doesn't work", "doesnt work",
    "does not work", "not working", "still broken", "still the same", "no luck", "didn't help",
    "didnt help", "did not help", "not helpful", "no help", "no use", "useless", "same issue",
    "same problem", "tried that", "tried it", "tried already", "not it", "not this",
    "唔work", "唔得", "冇用", "無用", "唔啱", "唔係呢個", "試咗", "仲係咁", "都係咁", "一樣",
    "幫唔到", "解決唔到", "都係唔", "仲係唔",
)  # fmt: skip
_HELPED: Final = (
    "that worked", "it worked", "worked", "works now", "working now", "fixed", "solved",
    "sorted", "all good", "ok now", "搞掂", "得咗", "work咗", "work 咗", "可以喇", "好返", "解決咗",
    "用得返", "冇問題喇",
)  # fmt: skip
_SHORT: Final = 6
_HAN: Final = re.compile(r"[\u3400-\u9fff]")


def typed_verdict(text: str) -> str | None:
    """A typed verdict on the articles shown, from a short message (at most 6 words, a
    Chinese character counting half): "didn't work", 「唔work呀」, 「試咗都唔得」 are "Not
    quite"; "that worked", 「搞掂喇」 are "This solved it"; None for anything else (then the
    message is understood afresh). "Not" wins: "still not fixed" did not help."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    if len(_HAN.sub(" ", folded).split()) + len(_HAN.findall(folded)) / 2 > _SHORT:
        return None
    if any(phrase in folded for phrase in _DID_NOT_HELP) or re.search(
        r"\b(?:not|still|no|never)\b.*\b(?:fixed|solved|working|work)\b", folded
    ):
        return _NOT_QUITE
    return _SOLVED if any(phrase in folded for phrase in _HELPED) else None


def _card(article: Article) -> ArticleCard:
    summary = article.summary or article.body[:160]
    return ArticleCard(article.article_id, article.title, summary)


class Knowledge:
    """Answer a question from the self-help articles: `outlook keeps asking for my password`."""

    intent: ClassVar[str] = "kb_question"

    async def handle(self, turn: Turn) -> list[Reply]:
        replies = await self._search(turn)
        if about_the_account(turn.msg.text):
            return await facts_first(turn, "account_facts", replies)
        return replies

    async def _search(self, turn: Turn) -> list[Reply]:
        t, services = turn.t, turn.services
        limit = services.settings.kb.max_results
        result = await services.kb.answer(turn.msg.text, t.lang, limit + 3)  # off the loop
        if not result.answered:
            search_id = services.search_log.record(turn.msg.platform, t.lang, result, [])
            turn.expect("kb_question.abstained", {"query": turn.msg.text, "search": search_id})
            return [Reply(t("kb.no_answer"), choices=self._ticket_choices(turn))]
        shown = [result.hits[0].article] + [
            h.article for h in result.hits[1:limit] if h.score >= _SHOW_RELATIVE
        ]
        rest = [h.article.article_id for h in result.hits if h.article not in shown]
        search_id = services.search_log.record(
            turn.msg.platform, t.lang, result, [a.article_id for a in shown]
        )
        return [self._offer(turn, turn.msg.text, search_id, shown, rest, first=True)]

    @staticmethod
    def _ticket_choices(turn: Turn) -> tuple[Choice, ...]:
        return (Choice(turn.t("kb.open_ticket"), _TICKET, "primary"), human_choice(turn.t))

    def _offer(
        self,
        turn: Turn,
        query: str,
        search_id: int,
        shown: list[Article],
        rest: list[str],
        *,
        first: bool,
    ) -> Reply:
        t = turn.t
        turn.expect(
            "kb_question.feedback",
            {
                "query": query,
                "search": search_id,
                "shown": [a.article_id for a in shown],
                "rest": rest,
            },
        )
        return Reply(
            t("kb.found" if first else "kb.more"),
            cards=tuple(_card(a) for a in shown),
            choices=self._feedback_choices(turn, shown),
        )

    @staticmethod
    def _feedback_choices(turn: Turn, shown: list[Article]) -> tuple[Choice, ...]:
        t = turn.t
        reads = tuple(Choice(t("kb.read", title=a.title), _READ + a.article_id) for a in shown)
        return (
            *reads,
            Choice(t("kb.solved"), _SOLVED, "primary"),
            Choice(t("kb.not_quite"), _NOT_QUITE),
            human_choice(t),
        )

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t, kb, log = turn.t, turn.services.kb, turn.services.search_log
        query = str(pending.state.get("query", ""))
        search_id = int(pending.state.get("search", 0)) or None
        if pending.flow == "kb_question.abstained":
            if turn.picked(self._ticket_choices(turn)) != _TICKET:
                return None
            return await self._propose(turn, query)
        shown_ids: list[str] = pending.state.get("shown", [])
        shown = _in_language(kb, shown_ids, t.lang)
        picked = turn.picked(self._feedback_choices(turn, shown)) or typed_verdict(turn.msg.text)
        if picked is None:
            return None
        if picked.startswith(_READ):
            article = kb.get(picked.removeprefix(_READ))
            if article is None:
                return [Reply(t("kb.gone"), choices=self._ticket_choices(turn))]
            article = kb.in_language(article, t.lang)
            log.event(search_id, article.article_id, "read")  # the article this person read
            return [
                Reply(
                    f"**{article.title}**\n\n{article.body}",
                    choices=(
                        Choice(t("kb.solved"), _SOLVED, "primary"),
                        Choice(t("kb.not_quite"), _NOT_QUITE),
                        human_choice(t),
                    ),
                )
            ]
        if search_id is not None:
            verdict = "solved" if picked == _SOLVED else "not_quite"
            log.feedback(search_id, verdict, [a.article_id for a in shown])
        if picked == _SOLVED:
            turn.done()
            return [Reply(t("kb.glad"))]
        rest: list[str] = pending.state.get("rest", [])
        more = _in_language(kb, rest, t.lang)
        if not more:
            turn.expect("kb_question.abstained", {"query": query, "search": search_id})
            return [Reply(t("kb.no_more"), choices=self._ticket_choices(turn))]
        limit = turn.services.settings.kb.max_results
        new_id = log.record(
            turn.msg.platform,
            t.lang,
            _as_result(query, more[:limit]),
            [a.article_id for a in more[:limit]],
        )
        next_rest = [a.article_id for a in more[limit:]]
        return [self._offer(turn, query, new_id, more[:limit], next_rest, first=False)]

    @staticmethod
    async def _propose(turn: Turn, query: str) -> list[Reply]:
        return await propose_ticket(
            turn,
            summary=query or turn.t("kb.ticket_summary"),
            description=turn.t("kb.ticket_description", query=query),
            category="other",
        )


def _in_language(kb: Library, article_ids: list[str], lang: str) -> list[Article]:
    """The articles still in the KB (a reload may have removed some), in `lang` where possible."""
    return [kb.in_language(a, lang) for a in (kb.get(i) for i in article_ids) if a is not None]


def _as_result(query: str, articles: list[Article]) -> SearchResult:
    from bot.knowledge import SearchResult

    return SearchResult(query, True, tuple(SearchHit(a, 0.0) for a in articles), 0.0)
