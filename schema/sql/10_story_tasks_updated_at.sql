-- Keeps story_tasks.updated_at current on every update, whoever writes the row.
CREATE FUNCTION public.story_tasks_touch_updated_at()
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
REVOKE EXECUTE ON FUNCTION public.story_tasks_touch_updated_at FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER story_tasks_touch_updated_at
  BEFORE UPDATE ON public.story_tasks
  FOR EACH ROW
  EXECUTE FUNCTION public.story_tasks_touch_updated_at();
