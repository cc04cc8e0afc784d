-- The host application's own tables, as its migrations create them (run as the deploy role):
-- richer than what this library uses, with a generated column and a trigger. This library
-- references public.stories(id) and must never change these tables.
CREATE TABLE public.stories (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  display_name text NOT NULL,
  slug text GENERATED ALWAYS AS (lower(regexp_replace(display_name, '[^a-zA-Z0-9]+', '-', 'g'))) STORED,
  owner_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  constitution jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION public.stories_touch_updated_at() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
  AS $$
  BEGIN
    NEW.updated_at := now();
    RETURN NEW;
  END
  $$;

CREATE TRIGGER stories_touch_updated_at
  BEFORE UPDATE ON public.stories
  FOR EACH ROW EXECUTE FUNCTION public.stories_touch_updated_at();

CREATE TABLE public.scenelets (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  story_id uuid NOT NULL REFERENCES public.stories (id) ON DELETE CASCADE,
  parent_id uuid REFERENCES public.scenelets (id) ON DELETE CASCADE,
  position integer NOT NULL DEFAULT 0,
  content jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scenelets_story_id_idx ON public.scenelets (story_id, position);
