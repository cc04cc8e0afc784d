-- What a new hosted Supabase project's database holds before any migration of the host's, as
-- Supabase documents it (../shared/reference/supabase-platform.md), for one test database. Run
-- as the server's superuser, which plays Supabase's supabase_admin. The database itself was
-- created owned by stand_in_postgres, so public (owned by pg_database_owner) is the deploy role's.

-- Supabase's default privileges: ALL on every new table, sequence and function in public, to the
-- three API roles, for objects created by the deploy role and by the platform's superuser.
ALTER DEFAULT PRIVILEGES FOR ROLE stand_in_postgres IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE stand_in_postgres IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE stand_in_postgres IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

-- Supabase Auth's schema, owned by its own role; the deploy role may use it, not create in it.
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO stand_in_postgres, anon, authenticated, service_role;
CREATE TABLE auth.users (
  id uuid NOT NULL PRIMARY KEY,
  email text,
  encrypted_password text,
  raw_user_meta_data jsonb,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
GRANT ALL ON auth.users TO stand_in_postgres;

-- The user id of the request's JWT: the claim.sub setting, else the sub of the claims setting;
-- an empty setting (what a SET LOCAL leaves behind after its transaction) counts as absent.
CREATE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$
    SELECT coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    )::uuid
  $$;
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
GRANT EXECUTE ON FUNCTION auth.uid() TO stand_in_postgres, anon, authenticated, service_role;

-- Supabase's statement timeouts for the API roles.
DO $$
BEGIN
  EXECUTE format('ALTER ROLE anon IN DATABASE %I SET statement_timeout = %L', current_database(), '3s');
  EXECUTE format('ALTER ROLE authenticated IN DATABASE %I SET statement_timeout = %L', current_database(), '8s');
END
$$;

-- Realtime's publication: empty on a new project, owned by the deploy role.
CREATE PUBLICATION supabase_realtime;
ALTER PUBLICATION supabase_realtime OWNER TO stand_in_postgres;
