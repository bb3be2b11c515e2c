"""The knowledge base: Markdown articles with YAML front matter, and search over them."""

from bot.knowledge.articles import Article, load_articles
from bot.knowledge.search import KnowledgeBase, SearchHit, SearchResult

__all__ = ["Article", "KnowledgeBase", "SearchHit", "SearchResult", "load_articles"]
