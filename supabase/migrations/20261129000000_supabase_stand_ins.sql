-- Stand-ins for what a Supabase project provides, and for the host's public.stories.
-- Every statement is guarded by an existence check: on a real Supabase project (and on any
-- database that already has these objects) this migration changes nothing. On a plain
-- PostgreSQL it creates just enough for the story-task schema, its policies and PostgREST.
-- Run alone with `pnpm db:stand-ins`; it is also the first migration so that Atlas's dev
-- database, and every database built from supabase/migrations/, resolves the references.

-- Supabase's API roles. service_role bypasses RLS there; authenticator is what PostgREST logs in as.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT;
    GRANT anon, authenticated, service_role TO authenticator;
  END IF;
END
$$;

-- Supabase Auth's schema, its users table reduced to the column this library references,
-- and auth.uid(): the `sub` claim of the request's JWT, as PostgREST exposes it.
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
        SELECT nullif(
          coalesce(
            current_setting('request.jwt.claim.sub', true),
            current_setting('request.jwt.claims', true)::jsonb ->> 'sub'
          ),
          ''
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
