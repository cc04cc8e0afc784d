-- The columns of story_tasks that no client decides, however the row is written (the rpc
-- functions, or straight through PostgREST):
--   created_at and updated_at are the database's clock: what a client sends is replaced;
--   id, operation and requested_by never change (requested_by only becomes null, when Supabase
--   Auth deletes the user and the foreign key's ON DELETE SET NULL runs);
--   a final task's payload and story_id change no more (story_id only becomes null, when the
--   host deletes the story). Its display_fields stay writable: they cache a card's title and
--   description, which may follow a renamed story. Status and progress are the status
--   machine's (20_story_task_status_machine.sql).
-- Refusals raise SQLSTATE 'ST002' with DETAIL 'column=<name>'.
CREATE FUNCTION public.story_tasks_guard_columns()
  RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
DECLARE
  -- A foreign key's ON DELETE SET NULL runs as a statement nested in the delete's trigger.
  by_foreign_key boolean := pg_catalog.pg_trigger_depth() > 1;
  refused text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.created_at := now();
    NEW.updated_at := NEW.created_at;
    RETURN NEW;
  END IF;
  NEW.created_at := OLD.created_at;
  NEW.updated_at := now();
  refused := CASE
    WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id'
    WHEN NEW.operation IS DISTINCT FROM OLD.operation THEN 'operation'
    WHEN NEW.requested_by IS DISTINCT FROM OLD.requested_by AND NOT (NEW.requested_by IS NULL AND by_foreign_key) THEN 'requested_by'
    WHEN public.story_task_status_machine() -> 'final' ? OLD.status AND NEW.payload IS DISTINCT FROM OLD.payload THEN 'payload'
    WHEN public.story_task_status_machine() -> 'final' ? OLD.status AND NEW.story_id IS DISTINCT FROM OLD.story_id AND NOT (NEW.story_id IS NULL AND by_foreign_key) THEN 'story_id'
  END;
  IF refused IS NOT NULL THEN
    RAISE EXCEPTION 'story task %: % cannot change%', OLD.id, refused, CASE WHEN refused IN ('payload', 'story_id') THEN format(' once the task is %s', OLD.status) ELSE '' END
      USING ERRCODE = 'ST002', DETAIL = format('column=%s', refused);
  END IF;
  RETURN NEW;
END
$$;

-- Only the trigger calls it.
REVOKE EXECUTE ON FUNCTION public.story_tasks_guard_columns FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER story_tasks_guard_columns
  BEFORE INSERT OR UPDATE ON public.story_tasks
  FOR EACH ROW
  EXECUTE FUNCTION public.story_tasks_guard_columns();
