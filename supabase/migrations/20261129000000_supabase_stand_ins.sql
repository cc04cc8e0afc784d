-- Stand-ins for what a Supabase project provides, and for the host's public.stories.
-- Every statement is guarded by an existence check: on a real Supabase project (and on any
-- database that already has these objects) this migration changes nothing. On a plain
-- PostgreSQL it creates just enough for the story-task schema, its policies and PostgREST.
-- Run alone with `pnpm db:stand-ins`; it is also the first migration so that Atlas's dev
-- database, and every database built from supabase/migrations/, resolves the references.

-- Supabase's API roles. service_role bypasses RLS there; authenticator is what PostgREST logs in as.
-- Roles belong to the whole server: two databases being set up at once may race to create
-- one, and the loser finds it made.
DO $$
DECLARE
  role_options text[][] := ARRAY[
    ARRAY['anon', 'NOLOGIN NOINHERIT'],
    ARRAY['authenticated', 'NOLOGIN NOINHERIT'],
    ARRAY['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
    ARRAY['authenticator', 'LOGIN NOINHERIT']
  ];
  i int;
BEGIN
  FOR i IN 1 .. array_length(role_options, 1) LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_options[i][1]) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', role_options[i][1], role_options[i][2]);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
  IF NOT pg_has_role('authenticator', 'service_role', 'MEMBER') THEN
    BEGIN
      GRANT anon, authenticated, service_role TO authenticator;
    EXCEPTION WHEN unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;

-- Supabase Auth's schema, its users table reduced to the column this library references,
-- and auth.uid(): the `sub` claim of the request's JWT, as PostgREST exposes it (either setting;
-- an empty one, which a SET LOCAL leaves behind after its transaction, counts as absent).
DO $$
BEGIN
  IF to_regnamespace('auth') IS NULL THEN
    CREATE SCHEMA auth;
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  END IF;
  IF to_regclass('auth.users') IS NULL THEN
    CREATE TABLE auth.users (
      id uuid NOT NULL,
      PRIMARY KEY (id)
    );
  END IF;
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid
      LANGUAGE sql STABLE
      AS $fn$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
        )::uuid
      $fn$;
    GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
  END IF;
END
$$;

-- The host's stories table, reduced to what this library uses.
DO $$
BEGIN
  IF to_regclass('public.stories') IS NULL THEN
    CREATE TABLE public.stories (
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      display_name text NOT NULL,
      PRIMARY KEY (id)
    );
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.stories TO service_role;
  END IF;
END
$$;

-- Supabase Realtime reads changes from this publication.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$$;
