"""Everything a handler may use, built once at start and passed explicitly (no globals)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, utcnow
from bot.config import Settings, check_paths
from bot.integrations.demo import DemoDirectory
from bot.integrations.directory import Directory
from bot.intents import IntentClassifier
from bot.knowledge.library import Library
from bot.store import open_store
from bot.store.approvals import Approvals
from bot.store.audit import AuditLog
from bot.store.conversations import ConversationStore
from bot.store.database import Database
from bot.store.events import ProcessedEvents
from bot.store.handoffs import Handoffs
from bot.store.kb_log import SearchLog, Signals
from bot.store.languages import LanguageMemory
from bot.store.outbox import Outbox
from bot.store.transcripts import Transcripts
from bot.tickets.service import TicketService


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    directory: Directory
    kb: Library
    search_log: SearchLog
    classifier: IntentClassifier
    conversations: ConversationStore
    events: ProcessedEvents
    languages: LanguageMemory
    tickets: TicketService
    transcripts: Transcripts
    audit: AuditLog
    approvals: Approvals
    handoffs: Handoffs
    outbox: Outbox
    clock: Clock
    timezone: ZoneInfo


def build_directory(
    settings: Settings, env: Mapping[str, str] | None = None, clock: Clock = utcnow
) -> Directory:
    """The configured directory backend (`directory.backend`). Raises `ConfigError`.
    The demo directory's stories are moved to `clock`'s day (`bot.integrations.demo`)."""
    env = os.environ if env is None else env
    backend = settings.directory.backend
    if backend == "demo":
        return DemoDirectory(settings.directory.demo_file, clock())
    ad: Directory | None = None
    if "ldap" in backend:
        from bot.integrations.ldap import LdapConfig, LdapDirectory

        ad = LdapDirectory(LdapConfig.from_env(env), settings.ldap)
    if "graph" not in backend:
        assert ad is not None
        return ad
    from bot.integrations.graph import GraphConfig, GraphDirectory, GraphGateway

    cloud = GraphDirectory(GraphGateway(GraphConfig.from_env(env), settings.graph), settings.graph)
    if ad is None:
        return cloud
    from bot.integrations.routing import CombinedDirectory

    return CombinedDirectory(ad, cloud)


def build_services(
    settings: Settings, clock: Clock = utcnow, env: Mapping[str, str] | None = None
) -> Services:
    """Open the store, load the directory, the KB and the classifier. Raises `ConfigError`."""
    check_paths(settings)
    directory = build_directory(settings, env, clock)
    db = open_store(settings.store)
    return Services(
        settings=settings,
        db=db,
        directory=directory,
        kb=Library(
            settings.kb.path,
            settings.kb.min_score,
            Signals(db, clock),
            settings.kb.encoder_model,
        ),
        search_log=SearchLog(db, clock),
        classifier=IntentClassifier(settings.intents.threshold),
        conversations=ConversationStore(
            db, timedelta(minutes=settings.conversation.timeout_minutes), clock
        ),
        events=ProcessedEvents(db, clock),
        languages=LanguageMemory(db, clock),
        tickets=TicketService(db, settings, clock),
        transcripts=Transcripts(db, settings.tickets.transcript_messages, clock),
        audit=AuditLog(db, clock),
        approvals=Approvals(db, clock),
        handoffs=Handoffs(db, clock),
        outbox=Outbox(db, clock),
        clock=clock,
        timezone=ZoneInfo(settings.bot.timezone),
    )


def on_connection(services: Services, db: Database) -> Services:
    """The same services with every store on another connection to the same database (for
    another thread: a connection is used by one thread at a time). The directory, the
    classifier and the knowledge library are shared, not copied: the library reads its
    signals on the first services' connection, so only the thread that owns that one may
    search it."""
    clock = services.clock
    settings = services.settings
    return replace(
        services,
        db=db,
        search_log=SearchLog(db, clock),
        conversations=ConversationStore(
            db, timedelta(minutes=settings.conversation.timeout_minutes), clock
        ),
        events=ProcessedEvents(db, clock),
        languages=LanguageMemory(db, clock),
        tickets=TicketService(db, settings, clock),
        transcripts=Transcripts(db, settings.tickets.transcript_messages, clock),
        audit=AuditLog(db, clock),
        approvals=Approvals(db, clock),
        handoffs=Handoffs(db, clock),
        outbox=Outbox(db, clock),
    )
