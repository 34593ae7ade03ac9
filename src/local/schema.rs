//! The data directory's schema. `IF NOT EXISTS` everywhere: opening is also migrating.

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS cart (
    accountid TEXT NOT NULL,
    vendorid  TEXT NOT NULL,
    orderid   TEXT NOT NULL,
    item      TEXT NOT NULL,
    PRIMARY KEY (accountid, vendorid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS invoices (
    key        TEXT PRIMARY KEY,
    body       BLOB NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- The invoice index (see `InvoiceIndex`): order id -> key, and each account's invoices per month
-- of the order's own date, ranked so that the greatest rank is the latest.
CREATE TABLE IF NOT EXISTS invoice_by_order (
    orderid TEXT PRIMARY KEY,
    key     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS invoice_by_month (
    accountid TEXT NOT NULL,
    month     TEXT NOT NULL,
    rank      TEXT NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (accountid, month, rank)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS vendor_endpoints (
    vendorid   TEXT NOT NULL,
    endpointid TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- See `Signing`: rows from before Standard Webhooks read as 'legacy' (`vendors::migrate`).
    signing         TEXT NOT NULL DEFAULT 'legacy',
    previous_secret TEXT,
    previous_until  TEXT,
    -- See `Health`: written by the delivery consumer.
    failing_since   TEXT,
    disabled_at     TEXT,
    disabled_reason TEXT,
    PRIMARY KEY (vendorid, endpointid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deliveries (
    eventid      TEXT NOT NULL,
    endpointid   TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (eventid, endpointid)
) WITHOUT ROWID;

-- API tokens (see `local::tokens`): only the SHA-256 of each is kept.
CREATE TABLE IF NOT EXISTS api_tokens (
    name       TEXT NOT NULL,
    digest     TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- The delivery log: every attempt (see `Attempt`), read newest first per vendor.
CREATE TABLE IF NOT EXISTS delivery_attempts (
    seq             INTEGER PRIMARY KEY,
    vendorid        TEXT NOT NULL,
    endpointid      TEXT NOT NULL,
    eventid         TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    at_ms           INTEGER NOT NULL,
    status          INTEGER,
    error           TEXT,
    latency_ms      INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    next_attempt_ms INTEGER,
    redelivery      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS delivery_attempts_by_vendor ON delivery_attempts (vendorid, at_ms);

-- Each ticket as it was fanned out, so that `vendors redeliver` resends the same body and id.
CREATE TABLE IF NOT EXISTS tickets (
    vendorid  TEXT NOT NULL,
    eventid   TEXT NOT NULL,
    queued_ms INTEGER NOT NULL,
    payload   TEXT NOT NULL,
    PRIMARY KEY (vendorid, eventid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tickets_by_time ON tickets (vendorid, queued_ms);

CREATE TABLE IF NOT EXISTS executions (
    name         TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    input        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT')),
    started_at   TEXT NOT NULL,
    started_ms   INTEGER NOT NULL,
    stopped_at   TEXT,
    output       TEXT,
    error        TEXT,
    cause        TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status, started_ms);

-- The history as first written: one row per event, kept so that older data dirs read as before.
-- New events go to `history_batches`.
CREATE TABLE IF NOT EXISTS history (
    name  TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    ts    TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (name, seq)
) WITHOUT ROWID;

-- The history, one row per durable batch (see `ExecutionSink`): `events` is a JSON array whose
-- first event is number `seq`. Rows are appended at the end of the table's rowid order, so a
-- group commit dirties the last pages and a small index, not pages all over a b-tree keyed by
-- execution name.
CREATE TABLE IF NOT EXISTS history_batches (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    ts     TEXT NOT NULL,
    events TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS history_batches_by_name ON history_batches (name, seq);

CREATE TABLE IF NOT EXISTS subscriptions (
    id            TEXT PRIMARY KEY,
    protocol      TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    filter_policy TEXT,
    scope         TEXT NOT NULL,
    raw           INTEGER NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS topic_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT NOT NULL,
    body         TEXT NOT NULL,
    attributes   TEXT NOT NULL,
    published_at TEXT NOT NULL,
    copies       INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS queues (
    name                  TEXT PRIMARY KEY,
    visibility_timeout_ms INTEGER NOT NULL,
    delay_ms              INTEGER NOT NULL,
    retention_ms          INTEGER NOT NULL,
    dlq                   TEXT REFERENCES queues (name),
    max_receive_count     INTEGER
);

CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL REFERENCES queues (name),
    message_id    TEXT NOT NULL,
    body          TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    sent_ms       INTEGER NOT NULL,
    visible_ms    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_ms);
CREATE UNIQUE INDEX IF NOT EXISTS messages_receipt ON messages (receipt) WHERE receipt IS NOT NULL;
"#;
