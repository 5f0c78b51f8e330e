//! The central PostgreSQL schema: versioned migrations (`MIGRATIONS[i]` takes version `i` to
//! `i + 1`), run by `central init` under an advisory lock, so that running it again, or twice
//! at once, is harmless.
//!
//! Security model: a server logs in with a role of its own, member of `mls_server`. Row-level
//! security lets it insert only rows whose `server` is the name `mls_servers` gives its role,
//! and read only its own shipping marks; it has no UPDATE or DELETE on anything. Reports use
//! `mls_reader` (SELECT only). Events are partitioned by month of their time; `ship` asks
//! `mls_ensure_months` (a function owned by the admin) for the months it is about to write.

/// `MIGRATIONS[i]` upgrades schema `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 0 -> 1: servers, events, runs, shipping marks, roles and policies.
    r#"
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mls_server') THEN
        CREATE ROLE mls_server NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mls_reader') THEN
        CREATE ROLE mls_reader NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO mls_server', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO mls_reader', current_database());
END $$;

CREATE TABLE mls_servers (
    name text PRIMARY KEY,
    role name NOT NULL UNIQUE,
    added timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mls_events (
    server text NOT NULL,
    store_id text NOT NULL,
    local_id bigint NOT NULL,
    time_unix bigint NOT NULL,
    has_time boolean NOT NULL,
    time_nanos integer NOT NULL,
    offset_secs integer NOT NULL,
    log_host text,
    service text NOT NULL,
    protocol text NOT NULL,
    outcome text NOT NULL,
    ip text NOT NULL,
    "user" bytea,
    mechanism text,
    reason text,
    attempts integer NOT NULL,
    session text,
    hostname text,
    reverse_dns_status text,
    country_code text,
    asn text,
    aso text,
    ptr_confirmed boolean,
    net text NOT NULL,
    PRIMARY KEY (server, store_id, local_id, time_unix)
) PARTITION BY RANGE (time_unix);
-- Events without a time (no syslog header); the months get partitions of their own.
CREATE TABLE mls_events_undated PARTITION OF mls_events DEFAULT;
CREATE INDEX mls_events_time ON mls_events (time_unix);
CREATE INDEX mls_events_outcome_time ON mls_events (outcome, time_unix);
CREATE INDEX mls_events_ip ON mls_events (ip, outcome, time_unix);
CREATE INDEX mls_events_failed_net ON mls_events (net, time_unix) WHERE outcome = 'failure';
CREATE INDEX mls_events_failed_asn ON mls_events (asn, time_unix)
    WHERE outcome = 'failure' AND asn IS NOT NULL;
CREATE INDEX mls_events_success_user ON mls_events ("user")
    WHERE outcome = 'success' AND "user" IS NOT NULL;

CREATE TABLE mls_runs (
    server text NOT NULL,
    store_id text NOT NULL,
    local_id bigint NOT NULL,
    finished_unix bigint NOT NULL,
    lines bigint NOT NULL,
    events bigint NOT NULL,
    unmatched bigint NOT NULL,
    tempfails bigint NOT NULL,
    aborted bigint NOT NULL,
    PRIMARY KEY (server, store_id, local_id)
);

-- One row per shipping transaction: the highest local event and run ids it holds. The mark of
-- a (server, store) is the highest; it is written in the transaction of the rows it covers.
CREATE TABLE mls_ships (
    server text NOT NULL,
    store_id text NOT NULL,
    last_event bigint NOT NULL,
    last_run bigint NOT NULL,
    events bigint NOT NULL,
    shipped_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mls_ships_mark ON mls_ships (server, store_id, last_event);

-- The fleet name of the logged-in role.
CREATE FUNCTION mls_my_server() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT name FROM mls_servers WHERE role = session_user $$;

-- Monthly partitions covering [lo, hi] (seconds since the epoch).
CREATE FUNCTION mls_ensure_months(lo bigint, hi bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    m date := date_trunc('month', to_timestamp(lo) AT TIME ZONE 'UTC')::date;
    name text;
BEGIN
    -- Two servers shipping a new month at once: one creates it, the other waits and sees it.
    PERFORM pg_advisory_xact_lock(7243001);
    IF hi - lo > 100::bigint * 366 * 86400 THEN
        RAISE EXCEPTION 'a range of more than a century: %..%', lo, hi;
    END IF;
    WHILE m <= (to_timestamp(hi) AT TIME ZONE 'UTC')::date LOOP
        name := 'mls_events_' || to_char(m, 'YYYYMM');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF mls_events FOR VALUES FROM (%s) TO (%s)',
                name,
                extract(epoch FROM m::timestamp AT TIME ZONE 'UTC')::bigint,
                extract(epoch FROM (m + interval '1 month')::timestamp AT TIME ZONE 'UTC')::bigint);
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END $$;

ALTER TABLE mls_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE mls_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE mls_ships ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON mls_events FOR INSERT TO mls_server
    WITH CHECK (server = mls_my_server());
CREATE POLICY own_rows ON mls_runs FOR INSERT TO mls_server
    WITH CHECK (server = mls_my_server());
CREATE POLICY own_rows ON mls_ships FOR INSERT TO mls_server
    WITH CHECK (server = mls_my_server());
CREATE POLICY own_marks ON mls_ships FOR SELECT TO mls_server
    USING (server = mls_my_server());
CREATE POLICY read_all ON mls_events FOR SELECT TO mls_reader USING (true);
CREATE POLICY read_all ON mls_runs FOR SELECT TO mls_reader USING (true);
CREATE POLICY read_all ON mls_ships FOR SELECT TO mls_reader USING (true);

REVOKE ALL ON mls_servers, mls_events, mls_runs, mls_ships FROM PUBLIC;
REVOKE ALL ON FUNCTION mls_ensure_months(bigint, bigint) FROM PUBLIC;
GRANT INSERT ON mls_events, mls_runs, mls_ships TO mls_server;
GRANT SELECT ON mls_ships TO mls_server;
GRANT EXECUTE ON FUNCTION mls_ensure_months(bigint, bigint) TO mls_server;
GRANT SELECT ON mls_servers, mls_events, mls_runs, mls_ships TO mls_reader;
GRANT SELECT ON mls_schema TO mls_server, mls_reader;
"#,
    // 1 -> 2: a summary per failing address, /24 or /64 and ASN, and per logged-in user, per
    // server and UTC day, written by `ship` with the events it sums; it replaces the events'
    // indexes by source (each one cost shipping 2 to 5 us a row). A (server, kind, value, day)
    // may have several rows: one per shipping transaction that had such events.
    r#"
CREATE TABLE mls_source_days (
    server text NOT NULL,
    -- The event column summed: ip, net, asn (failures) or user (successes).
    kind text NOT NULL,
    value bytea NOT NULL,
    day integer NOT NULL,
    first_unix bigint NOT NULL,
    last_unix bigint NOT NULL,
    attempts bigint NOT NULL
);

-- What mls_source_days sums up to, derived from the events of [lo, hi) (day-aligned bounds
-- give whole days): the backfill below, and the check that what `ship` writes agrees.
CREATE FUNCTION mls_derived_source_days(lo bigint DEFAULT -9223372036854775808,
        hi bigint DEFAULT 9223372036854775807)
    RETURNS TABLE (server text, kind text, value bytea, day integer, first_unix bigint,
        last_unix bigint, attempts bigint)
    LANGUAGE sql STABLE AS $$
    SELECT e.server, k.kind, k.value, div(e.time_unix, 86400)::integer, min(e.time_unix),
        max(e.time_unix), sum(e.attempts)
    FROM mls_events e CROSS JOIN LATERAL (VALUES
        ('ip', CASE WHEN e.outcome = 'failure' THEN convert_to(e.ip, 'UTF8') END),
        ('net', CASE WHEN e.outcome = 'failure' THEN convert_to(e.net, 'UTF8') END),
        ('asn', CASE WHEN e.outcome = 'failure' THEN convert_to(e.asn, 'UTF8') END),
        ('user', CASE WHEN e.outcome = 'success' THEN e."user" END)) k (kind, value)
    WHERE e.has_time AND k.value IS NOT NULL AND e.time_unix >= lo AND e.time_unix < hi
    GROUP BY 1, 2, 3, 4
$$;
INSERT INTO mls_source_days SELECT * FROM mls_derived_source_days();
CREATE INDEX mls_source_days_key ON mls_source_days (kind, value, first_unix)
    INCLUDE (last_unix, attempts, server);

DROP INDEX mls_events_outcome_time, mls_events_ip, mls_events_failed_net,
    mls_events_failed_asn, mls_events_success_user;

-- The server's name as a subquery: evaluated once per statement, where the bare call (a
-- SECURITY DEFINER function, so never inlined) ran once per row, a third of a ship's time.
ALTER POLICY own_rows ON mls_events WITH CHECK (server = (SELECT mls_my_server()));
ALTER POLICY own_rows ON mls_runs WITH CHECK (server = (SELECT mls_my_server()));
ALTER POLICY own_rows ON mls_ships WITH CHECK (server = (SELECT mls_my_server()));
ALTER POLICY own_marks ON mls_ships USING (server = (SELECT mls_my_server()));

ALTER TABLE mls_source_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON mls_source_days FOR INSERT TO mls_server
    WITH CHECK (server = (SELECT mls_my_server()));
CREATE POLICY read_all ON mls_source_days FOR SELECT TO mls_reader USING (true);
REVOKE ALL ON mls_source_days FROM PUBLIC;
REVOKE ALL ON FUNCTION mls_derived_source_days(bigint, bigint) FROM PUBLIC;
GRANT INSERT ON mls_source_days TO mls_server;
GRANT SELECT ON mls_source_days TO mls_reader;
GRANT EXECUTE ON FUNCTION mls_derived_source_days(bigint, bigint) TO mls_reader;
"#,
    // 2 -> 3: `query --fleet`. The summary also says on which days an address, a /24-/64 or an
    // ASN logged in, a user failed, a country was seen (either outcome), so that every
    // filter reads only the events of its days, through the time index.
    r#"
CREATE OR REPLACE FUNCTION mls_derived_source_days(lo bigint DEFAULT -9223372036854775808,
        hi bigint DEFAULT 9223372036854775807)
    RETURNS TABLE (server text, kind text, value bytea, day integer, first_unix bigint,
        last_unix bigint, attempts bigint)
    LANGUAGE sql STABLE AS $$
    SELECT e.server, k.kind, k.value, div(e.time_unix, 86400)::integer, min(e.time_unix),
        max(e.time_unix), sum(e.attempts)
    FROM mls_events e CROSS JOIN LATERAL (VALUES
        ('ip', CASE WHEN e.outcome = 'failure' THEN convert_to(e.ip, 'UTF8') END),
        ('net', CASE WHEN e.outcome = 'failure' THEN convert_to(e.net, 'UTF8') END),
        ('asn', CASE WHEN e.outcome = 'failure' THEN convert_to(e.asn, 'UTF8') END),
        ('user', CASE WHEN e.outcome = 'success' THEN e."user" END),
        ('login_ip', CASE WHEN e.outcome = 'success' THEN convert_to(e.ip, 'UTF8') END),
        ('login_net', CASE WHEN e.outcome = 'success' THEN convert_to(e.net, 'UTF8') END),
        ('login_asn', CASE WHEN e.outcome = 'success' THEN convert_to(e.asn, 'UTF8') END),
        ('failed_user', CASE WHEN e.outcome = 'failure' THEN e."user" END),
        ('country', convert_to(e.country_code, 'UTF8'))) k (kind, value)
    WHERE e.has_time AND k.value IS NOT NULL AND e.time_unix >= lo AND e.time_unix < hi
    GROUP BY 1, 2, 3, 4
$$;
INSERT INTO mls_source_days SELECT * FROM mls_derived_source_days()
    WHERE kind IN ('login_ip', 'login_net', 'login_asn', 'failed_user', 'country');
"#,
];
