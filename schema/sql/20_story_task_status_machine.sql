-- The status machine, enforced in the database so that no client can bypass it. It is declared
-- once, in schema/story_tasks.pg.hcl (locals.story_task_status_machine), and reaches the
-- database as the comment of story_tasks.status, which story_task_status_machine() reads:
--   statuses     every status (the CHECK story_tasks_status_check allows exactly these);
--   initial      where a new task may start;
--   transitions  where each status may go; a status that may go nowhere is final;
--   complete     the status of a task that did all its work, which ends at progress 100.
-- A final task's status and progress never change again; a running task's progress never goes
-- back, nor when it leaves running. started_at is set when a task starts running, finished_at
-- when it becomes final; what a client writes there is ignored.
-- Refusals raise SQLSTATE 'ST001' with DETAIL 'from=<status> to=<status>' for the repository to classify.
CREATE FUNCTION public.story_task_status_machine()
  RETURNS jsonb
  LANGUAGE sql
  STABLE
  SET search_path = ''
AS $$
  SELECT pg_catalog.col_description(a.attrelid, a.attnum)::jsonb
  FROM pg_catalog.pg_attribute AS a
  WHERE a.attrelid = 'public.story_tasks'::pg_catalog.regclass AND a.attname = 'status'
$$;

-- The rpc functions and the triggers call it with the caller's rights.
REVOKE EXECUTE ON FUNCTION public.story_task_status_machine FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.story_task_status_machine TO service_role;

CREATE FUNCTION public.story_tasks_enforce_status_machine()
  RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
DECLARE
  machine jsonb := public.story_task_status_machine();
  from_status text := CASE WHEN TG_OP = 'INSERT' THEN 'none' ELSE OLD.status END;
  starts boolean;
  ends boolean;
BEGIN
  IF machine IS NULL THEN
    RAISE EXCEPTION 'public.story_tasks.status has no status machine in its comment: deploy schema/ again';
  END IF;
  -- A status the machine does not know is impossible: refused as its CHECK refuses it.
  IF NOT machine -> 'statuses' ? NEW.status THEN
    RAISE EXCEPTION 'new row for relation "story_tasks" violates check constraint "story_tasks_status_check"'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'story_tasks_status_check', TABLE = 'story_tasks', SCHEMA = 'public';
  END IF;

  IF TG_OP = 'INSERT' THEN
    IF NOT machine -> 'initial' ? NEW.status THEN
      RAISE EXCEPTION 'story task cannot be created as %: a new task is % ', NEW.status,
        (SELECT string_agg(s, ' or ') FROM jsonb_array_elements_text(machine -> 'initial') AS s)
        USING ERRCODE = 'ST001', DETAIL = format('from=none to=%s', NEW.status);
    END IF;
  ELSIF machine -> 'final' ? OLD.status THEN
    IF NEW.status IS DISTINCT FROM OLD.status OR NEW.progress IS DISTINCT FROM OLD.progress THEN
      RAISE EXCEPTION 'story task % is %, which is final: its status and progress cannot change', OLD.id, OLD.status
        USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', OLD.status, NEW.status);
    END IF;
  ELSIF NEW.status IS DISTINCT FROM OLD.status AND NOT machine -> 'transitions' -> OLD.status ? NEW.status THEN
    RAISE EXCEPTION 'story task % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', OLD.status, NEW.status);
  ELSIF OLD.status = 'running' AND NEW.progress < OLD.progress AND NEW.status IS DISTINCT FROM machine ->> 'complete' THEN
    -- Nor on the way out: a task that fails or is cancelled keeps the progress it had made (one that completes is at 100, below).
    RAISE EXCEPTION 'story task % is running: its progress cannot go back from % to %', OLD.id, OLD.progress, NEW.progress
      USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', OLD.status, NEW.status);
  END IF;

  starts := NEW.status = 'running' AND (TG_OP = 'INSERT' OR OLD.started_at IS NULL);
  ends := machine -> 'final' ? NEW.status AND NEW.status IS DISTINCT FROM from_status;
  NEW.started_at := CASE WHEN starts THEN now() WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.started_at END;
  NEW.finished_at := CASE WHEN ends THEN now() WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.finished_at END;
  IF NEW.status = machine ->> 'complete' THEN
    NEW.progress := 100;
  END IF;
  RETURN NEW;
END
$$;

-- Only the trigger calls it.
REVOKE EXECUTE ON FUNCTION public.story_tasks_enforce_status_machine FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER story_tasks_enforce_status_machine
  BEFORE INSERT OR UPDATE ON public.story_tasks
  FOR EACH ROW
  EXECUTE FUNCTION public.story_tasks_enforce_status_machine();
