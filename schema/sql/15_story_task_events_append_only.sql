-- story_task_events is an append-only log (no role may update or delete an event: see the
-- grants in 30_row_level_security.sql). On every insert, however it is written:
--   created_at is the database's clock;
--   an event with a progress_override is refused once its task is final (ST001), checked under
--   a share lock on the task, so that a completion cannot slip in between the check and the insert.
CREATE FUNCTION public.story_task_events_guard_append()
  RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
DECLARE
  task_status text;
BEGIN
  NEW.created_at := now();
  IF NEW.progress_override IS NOT NULL THEN
    SELECT t.status INTO task_status FROM public.story_tasks AS t WHERE t.id = NEW.task_id FOR SHARE;
    IF public.story_task_status_machine() -> 'final' ? task_status THEN
      RAISE EXCEPTION 'story task % is %, which is final: it takes no more progress', NEW.task_id, task_status
        USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', task_status, task_status);
    END IF;
  END IF;
  RETURN NEW;
END
$$;

-- Only the trigger calls it.
REVOKE EXECUTE ON FUNCTION public.story_task_events_guard_append FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER story_task_events_guard_append
  BEFORE INSERT ON public.story_task_events
  FOR EACH ROW
  EXECUTE FUNCTION public.story_task_events_guard_append();
