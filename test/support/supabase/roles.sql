-- Stand-ins for the roles of a hosted Supabase project, for tests (test/support/supabase-project.ts).
-- Roles belong to the whole server, and test files set up databases at the same time: each is
-- created only if missing, under an advisory lock. test/support/global-setup.ts drops, after the
-- run, the ones it found missing.
--   anon, authenticated: the API roles of requests without and with a signed-in user;
--   service_role: the API role of the service key, which bypasses RLS;
--   authenticator: what PostgREST logs in as, switching to the JWT's role;
--   supabase_auth_admin: owns the auth schema (Supabase Auth's own role);
--   stand_in_postgres: the role migrations and `supabase db push` run as. On Supabase it is named
--     postgres, which here is the server's superuser: it is NOT a superuser there.
SELECT pg_advisory_xact_lock(hashtext('story-tasks supabase stand-in roles'));

DO $$
DECLARE
  wanted text[][] := ARRAY[
    ARRAY['anon', 'NOLOGIN NOINHERIT'],
    ARRAY['authenticated', 'NOLOGIN NOINHERIT'],
    ARRAY['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
    ARRAY['authenticator', 'LOGIN NOINHERIT'],
    ARRAY['supabase_auth_admin', 'NOLOGIN NOINHERIT'],
    ARRAY['stand_in_postgres', 'LOGIN INHERIT CREATEDB CREATEROLE REPLICATION BYPASSRLS']
  ];
  i int;
BEGIN
  FOR i IN 1 .. array_length(wanted, 1) LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted[i][1]) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', wanted[i][1], wanted[i][2]);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- a process without the lock (the stand-ins migration) made it first
      END;
    END IF;
  END LOOP;
  IF NOT pg_has_role('authenticator', 'service_role', 'MEMBER') THEN
    GRANT anon, authenticated, service_role TO authenticator;
  END IF;
  IF NOT pg_has_role('stand_in_postgres', 'service_role', 'MEMBER') THEN
    GRANT anon, authenticated, service_role TO stand_in_postgres;
  END IF;
END
$$;
