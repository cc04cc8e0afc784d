-- The status machine, enforced in the database so that no client can bypass it:
--   queued  -> running | cancelled | failed
--   running -> succeeded | failed | cancelled
--   succeeded, failed, cancelled are final: status and progress never change again.
-- A new task starts queued or running. started_at and finished_at belong to the transitions;
-- a task that succeeds ends at progress 100.
-- Refusals raise SQLSTATE 'ST001' with DETAIL 'from=<status> to=<status>' for the repository to classify.
CREATE FUNCTION public.story_tasks_enforce_status_machine()
  RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
DECLARE
  from_status text := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END;
BEGIN
  -- An unknown status is the CHECK constraint's to refuse, with its own error.
  IF NEW.status NOT IN ('queued', 'running', 'succeeded', 'failed', 'cancelled') THEN
    RETURN NEW;
  END IF;

  IF TG_OP = 'INSERT' THEN
    IF NEW.status NOT IN ('queued', 'running') THEN
      RAISE EXCEPTION 'story task cannot be created as %: a new task is queued or running', NEW.status
        USING ERRCODE = 'ST001', DETAIL = format('from=none to=%s', NEW.status);
    END IF;
    NEW.started_at := CASE WHEN NEW.status = 'running' THEN now() END;
    NEW.finished_at := NULL;
    RETURN NEW;
  END IF;

  IF from_status IN ('succeeded', 'failed', 'cancelled') THEN
    IF NEW.status IS DISTINCT FROM from_status OR NEW.progress IS DISTINCT FROM OLD.progress THEN
      RAISE EXCEPTION 'story task % is %, which is final: its status and progress cannot change', OLD.id, from_status
        USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', from_status, NEW.status);
    END IF;
  ELSIF NEW.status IS DISTINCT FROM from_status THEN
    IF NOT (
      (from_status = 'queued' AND NEW.status IN ('running', 'cancelled', 'failed'))
      OR (from_status = 'running' AND NEW.status IN ('succeeded', 'failed', 'cancelled'))
    ) THEN
      RAISE EXCEPTION 'story task % cannot move from % to %', OLD.id, from_status, NEW.status
        USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', from_status, NEW.status);
    END IF;
  END IF;

  -- The timestamps follow the transitions; what a client wrote into them is ignored.
  NEW.started_at := CASE
    WHEN NEW.status = 'running' AND from_status = 'queued' THEN now()
    ELSE OLD.started_at
  END;
  NEW.finished_at := CASE
    WHEN NEW.status IN ('succeeded', 'failed', 'cancelled') AND NEW.status IS DISTINCT FROM from_status THEN now()
    ELSE OLD.finished_at
  END;
  IF NEW.status = 'succeeded' THEN
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
