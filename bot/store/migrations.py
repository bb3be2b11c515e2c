"""Versioned schema migrations, applied in order at start.

Each migration runs in one transaction together with the version bump, so a crash leaves
the store at the old version or the new one, never in between. The version is SQLite's
`PRAGMA user_version`, on PostgreSQL the one row of `schema_version`. Append new
migrations; never edit one that has shipped.

An entry is either portable SQL -- run as written on SQLite, and on PostgreSQL after
`bot.store.dialect.postgres_ddl` (`INTEGER PRIMARY KEY` as an identity column, `REAL` as
`DOUBLE PRECISION`) -- or a `Paired` migration with the text for each backend, where the DDL
itself differs (triggers, sequences). Keep to TEXT, INTEGER and REAL columns, timestamps as
ISO text, and indexes both understand (partial ones included).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.dialect import postgres_ddl


@dataclass(frozen=True, slots=True)
class Paired:
    """A migration whose SQLite and PostgreSQL scripts differ (each as that backend's DDL)."""

    sqlite: str
    postgres: str


Migration = str | Paired


def for_sqlite(migration: Migration) -> str:
    return migration.sqlite if isinstance(migration, Paired) else migration


def for_postgres(migration: Migration) -> str:
    return migration.postgres if isinstance(migration, Paired) else postgres_ddl(migration)


_M1_TABLES = """
    CREATE TABLE conversations (
        conversation_key TEXT PRIMARY KEY,
        flow TEXT NOT NULL,
        state_json TEXT NOT NULL,
        lang TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE processed_events (
        event_id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX processed_events_received ON processed_events (received_at);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        available_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        delivered_at TEXT
    );
    CREATE INDEX outbox_pending ON outbox (available_at) WHERE delivered_at IS NULL;
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        idempotency_key TEXT UNIQUE,
        requester_email TEXT NOT NULL,
        requester_platform TEXT NOT NULL,
        requester_user_id TEXT NOT NULL,
        summary TEXT NOT NULL,
        description TEXT NOT NULL,
        category TEXT NOT NULL,
        priority TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX tickets_requester ON tickets (requester_email, created_at);
    CREATE TABLE ticket_events (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets (id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        body TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_platform TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        actor_directory_id TEXT,
        target TEXT,
        action TEXT NOT NULL,
        verification TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        ticket TEXT,
        request_id TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_actor_action ON audit_log (actor_directory_id, action, at);
"""
_M1_SQLITE = """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""
# PostgreSQL: the same guard as a trigger function (TRUNCATE too, which SQLite lacks), and
# the ticket numbers' sequence (bot.store.dialect, "next_ticket_number"): tickets start at
# 1001 (bot.tickets.model.FIRST_TICKET_NUMBER).
_M1_POSTGRES = """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    CREATE SEQUENCE ticket_numbers START WITH 1001;
"""

MIGRATIONS: tuple[Migration, ...] = (
    # 1: conversations, deduplication, outbox, tickets, audit trail
    Paired(_M1_TABLES + _M1_SQLITE, postgres_ddl(_M1_TABLES) + _M1_POSTGRES),
    # 2: knowledge-base analytics (searches, what was shown, feedback) and control signals
    """
    CREATE TABLE kb_searches (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        platform TEXT NOT NULL,
        lang TEXT NOT NULL,
        query TEXT NOT NULL,
        answered INTEGER NOT NULL,
        confidence REAL NOT NULL,
        results_json TEXT NOT NULL,
        feedback TEXT,
        feedback_at TEXT
    );
    CREATE INDEX kb_searches_at ON kb_searches (at);
    CREATE TABLE kb_events (
        id INTEGER PRIMARY KEY,
        search_id INTEGER REFERENCES kb_searches (id),
        at TEXT NOT NULL,
        article_id TEXT NOT NULL,
        kind TEXT NOT NULL
    );
    CREATE INDEX kb_events_article ON kb_events (article_id, kind);
    CREATE TABLE signals (
        name TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 3: the ticket system: assignment, SLA clocks, watchers, public/internal events,
    # triage posts, and outbox sends that survive a crash mid-send
    """
    ALTER TABLE tickets ADD COLUMN impact TEXT NOT NULL DEFAULT 'single';
    ALTER TABLE tickets ADD COLUMN urgency TEXT NOT NULL DEFAULT 'medium';
    ALTER TABLE tickets ADD COLUMN assignee TEXT;
    ALTER TABLE tickets ADD COLUMN team TEXT NOT NULL DEFAULT 'Service Desk';
    ALTER TABLE tickets ADD COLUMN requester_conversation TEXT NOT NULL DEFAULT '';
    ALTER TABLE tickets ADD COLUMN requester_lang TEXT NOT NULL DEFAULT 'en';
    ALTER TABLE tickets ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE tickets ADD COLUMN first_response_at TEXT;
    ALTER TABLE tickets ADD COLUMN resolved_at TEXT;
    ALTER TABLE tickets ADD COLUMN closed_at TEXT;
    ALTER TABLE tickets ADD COLUMN waiting_since TEXT;
    ALTER TABLE tickets ADD COLUMN response_due_at TEXT;
    ALTER TABLE tickets ADD COLUMN response_risk_at TEXT;
    ALTER TABLE tickets ADD COLUMN resolution_due_at TEXT;
    ALTER TABLE tickets ADD COLUMN resolution_risk_at TEXT;
    ALTER TABLE tickets ADD COLUMN sla_flags INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tickets ADD COLUMN csat_score INTEGER;
    ALTER TABLE tickets ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX tickets_state ON tickets (state, priority, created_at);
    CREATE INDEX tickets_assignee ON tickets (assignee, state);
    CREATE INDEX tickets_team ON tickets (team, state);
    CREATE INDEX tickets_created ON tickets (created_at);
    ALTER TABLE tickets ADD COLUMN sla_next_at TEXT;
    CREATE INDEX tickets_sla_next ON tickets (sla_next_at) WHERE sla_next_at IS NOT NULL;
    CREATE TABLE ticket_watchers (
        ticket_id INTEGER NOT NULL REFERENCES tickets (id),
        watcher TEXT NOT NULL,
        PRIMARY KEY (ticket_id, watcher)
    );
    ALTER TABLE ticket_events ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE ticket_events ADD COLUMN data_json TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE triage_posts (
        ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
        channel TEXT NOT NULL,
        message_ref TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE TABLE transcripts (
        id INTEGER PRIMARY KEY,
        conversation_key TEXT NOT NULL,
        at TEXT NOT NULL,
        speaker TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX transcripts_conversation ON transcripts (conversation_key, id);
    ALTER TABLE outbox ADD COLUMN sending_at TEXT;
    """,
    # 4: chat platforms: the requester's copy of a ticket notice (a reply in its thread is
    # a comment on the ticket), and messages to delete later (a secret shown once)
    """
    CREATE TABLE ticket_threads (
        message_ref TEXT PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets (id)
    );
    CREATE TABLE scheduled_deletions (
        platform TEXT NOT NULL,
        message_ref TEXT NOT NULL,
        delete_at TEXT NOT NULL,
        PRIMARY KEY (platform, message_ref)
    );
    CREATE INDEX scheduled_deletions_due ON scheduled_deletions (delete_at);
    """,
    # 5: approvals for self-service (a manager or the on-call engineer approves a reset, a
    # group's owner approves an access request: `subject` is then the group);
    # only a hash of each one-time nonce is kept
    """
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        nonce_hash TEXT NOT NULL UNIQUE,
        action TEXT NOT NULL,
        requester_platform TEXT NOT NULL,
        requester_user_id TEXT NOT NULL,
        requester_email TEXT NOT NULL,
        requester_lang TEXT NOT NULL,
        target TEXT NOT NULL,
        approver_email TEXT NOT NULL,
        approver_id TEXT NOT NULL,
        approver_kind TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        decided_at TEXT,
        used_at TEXT,
        subject TEXT NOT NULL DEFAULT '',
        subject_name TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX approvals_target ON approvals (target, action, state);
    """,
    # 6: supervisors: each shift's handoff is posted once (its key is the shift), engineers'
    # notes for the next shift
    """
    CREATE TABLE handoff_posts (
        shift_key TEXT PRIMARY KEY,
        team TEXT NOT NULL,
        shift_end TEXT NOT NULL,
        queued_at TEXT NOT NULL,
        late INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE handoff_notes (
        id INTEGER PRIMARY KEY,
        team TEXT NOT NULL,
        shift_key TEXT NOT NULL,
        author TEXT NOT NULL,
        at TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX handoff_notes_shift ON handoff_notes (shift_key, id);
    CREATE INDEX tickets_resolved ON tickets (resolved_at);
    CREATE INDEX ticket_events_kind_at ON ticket_events (kind, at);
    CREATE INDEX ticket_events_state_at ON ticket_events (at) WHERE kind = 'state';
    CREATE INDEX audit_action_outcome_at ON audit_log (action, outcome, at);
    """,
    # 7: a waiting flow remembers whether its question was about a password (then a lone
    # password-shaped answer is masked before it is stored; see bot.redact)
    """
    ALTER TABLE conversations ADD COLUMN secret_context TEXT NOT NULL DEFAULT 'none';
    """,
    # 8: a ticket's requester as the directory's immutable id (objectGUID, Entra object id,
    # the demo id), filled when the ticket is opened; engineers' actions for a ticket are
    # checked against it, never against the email (mail is not unique). NULL: not known
    # (tickets from before this version, or opened while the directory could not name
    # exactly one account) - no engineer action may rely on such a ticket.
    """
    ALTER TABLE tickets ADD COLUMN requester_directory_id TEXT;
    """,
    # 9: the durable inbox (bot.inbox): an acknowledged message is stored, with its dedupe
    # claim, before the ack; a reply row in the outbox names its conversation (delivered in
    # order within it); a ticket event names the request that made it (a message processed
    # again after a crash repeats no change)
    """
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        conversation TEXT NOT NULL,
        incoming_json TEXT NOT NULL,
        route_json TEXT NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (platform, event_id)
    );
    ALTER TABLE outbox ADD COLUMN conversation TEXT;
    CREATE INDEX outbox_conversation ON outbox (conversation, id)
        WHERE delivered_at IS NULL AND conversation IS NOT NULL;
    ALTER TABLE ticket_events ADD COLUMN request_id TEXT;
    CREATE UNIQUE INDEX ticket_events_request ON ticket_events (ticket_id, kind, request_id)
        WHERE request_id IS NOT NULL;
    """,
    # 10: the language each person writes in (bot.store.languages): a bare `HD-1002` or "1"
    # is answered in it; `chosen` = 1 when the person asked for it ("English please")
    """
    CREATE TABLE person_languages (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        lang TEXT NOT NULL,
        chosen INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id)
    );
    """,
    # 11: major incidents (bot.incidents): one row per incident, the tickets linked to it,
    # its timeline, and each new ticket's grouping signature (service, site, words)
    """
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        service TEXT NOT NULL DEFAULT '',
        site TEXT NOT NULL DEFAULT '',
        words TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        declared_by TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_at TEXT,
        resolved_by TEXT,
        resolution TEXT
    );
    CREATE INDEX incidents_state ON incidents (state, opened_at);
    CREATE INDEX incidents_resolved ON incidents (resolved_at);
    CREATE TABLE incident_tickets (
        incident_id INTEGER NOT NULL REFERENCES incidents (id),
        ticket_id INTEGER NOT NULL REFERENCES tickets (id),
        linked_at TEXT NOT NULL,
        linked_by TEXT NOT NULL,
        PRIMARY KEY (incident_id, ticket_id)
    );
    CREATE INDEX incident_tickets_ticket ON incident_tickets (ticket_id);
    CREATE TABLE incident_updates (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents (id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX incident_updates_incident ON incident_updates (incident_id, id);
    CREATE TABLE incident_reports (
        ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
        at TEXT NOT NULL,
        category TEXT NOT NULL,
        service TEXT NOT NULL,
        site TEXT NOT NULL,
        words TEXT NOT NULL,
        incident_id INTEGER REFERENCES incidents (id)
    );
    CREATE INDEX incident_reports_service ON incident_reports (service, at);
    CREATE INDEX incident_reports_category ON incident_reports (category, at)
        WHERE service = '';
    """,
    # 12: how to reach a person on their platform unprompted (bot.store.addresses): the
    # conversation reference the platform gave with their last message (Slack: the DM
    # channel; Teams: service URL, conversation and tenant), for notices and approvals
    """
    CREATE TABLE addresses (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        email TEXT,
        reference_json TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id)
    );
    CREATE INDEX addresses_email ON addresses (platform, email) WHERE email IS NOT NULL;
    """,
    # 13: more than one `helpdesk serve` on one store (bot.replicas): named leases with an
    # expiry (the scheduler's leader, each replica's heartbeat), each scheduled job's due
    # run recorded once, outbox and inbox rows claimed by a replica until a lease runs
    # out, a secret reply held in one replica's memory (`held_by`), and what an adapter
    # keeps between two requests (`shelf`: a form behind a button, a Teams card's text, the
    # connector URL), since the next request may reach another replica. Portable DDL.
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        renewed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE scheduled_runs (
        job TEXT NOT NULL,
        due_at TEXT NOT NULL,
        ran_by TEXT NOT NULL,
        started_at TEXT NOT NULL,
        PRIMARY KEY (job, due_at)
    );
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox ADD COLUMN lease_until TEXT;
    ALTER TABLE outbox ADD COLUMN held_by TEXT;
    CREATE INDEX outbox_claimed ON outbox (claimed_by) WHERE delivered_at IS NULL;
    ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE inbox ADD COLUMN lease_until TEXT;
    CREATE TABLE shelf (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        kept_at TEXT NOT NULL
    );
    CREATE INDEX shelf_kept_at ON shelf (kept_at);
    """,
)
