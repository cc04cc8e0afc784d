-- Keeps story_tasks.updated_at current on every update, whoever writes the row.
CREATE OR REPLACE FUNCTION public.story_tasks_touch_updated_at()
  RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- Only the trigger calls it.
REVOKE EXECUTE ON FUNCTION public.story_tasks_touch_updated_at() FROM PUBLIC, anon, authenticated, service_role;

DROP TRIGGER IF EXISTS story_tasks_touch_updated_at ON public.story_tasks;
CREATE TRIGGER story_tasks_touch_updated_at
  BEFORE UPDATE ON public.story_tasks
  FOR EACH ROW
  EXECUTE FUNCTION public.story_tasks_touch_updated_at();
