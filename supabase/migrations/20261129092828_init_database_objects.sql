-- Objects the open-source Atlas does not manage, from schema/sql/. Idempotent: safe to run again.

-- schema/sql/10_story_tasks_updated_at.sql
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

-- schema/sql/20_story_task_status_machine.sql
-- The status machine, enforced in the database so that no client can bypass it:
--   queued  -> running | cancelled | failed
--   running -> succeeded | failed | cancelled
--   succeeded, failed, cancelled are final: status and progress never change again.
-- A new task starts queued or running. started_at and finished_at belong to the transitions;
-- a task that succeeds ends at progress 100.
-- Refusals raise SQLSTATE 'ST001' with DETAIL 'from=<status> to=<status>' for the repository to classify.
CREATE OR REPLACE FUNCTION public.story_tasks_enforce_status_machine()
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
REVOKE EXECUTE ON FUNCTION public.story_tasks_enforce_status_machine() FROM PUBLIC, anon, authenticated, service_role;

DROP TRIGGER IF EXISTS story_tasks_enforce_status_machine ON public.story_tasks;
CREATE TRIGGER story_tasks_enforce_status_machine
  BEFORE INSERT OR UPDATE ON public.story_tasks
  FOR EACH ROW
  EXECUTE FUNCTION public.story_tasks_enforce_status_machine();

-- schema/sql/30_row_level_security.sql
-- Who may see and change story tasks through the Supabase API:
--   service_role: everything (the agent backend);
--   authenticated: read the tasks they requested, and those tasks' events;
--   anon: nothing.
ALTER TABLE public.story_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.story_task_events ENABLE ROW LEVEL SECURITY;

-- Supabase's default privileges grant new public tables to every API role; narrow them.
REVOKE ALL ON public.story_tasks, public.story_task_events FROM anon, authenticated;
GRANT SELECT ON public.story_tasks, public.story_task_events TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.story_tasks, public.story_task_events TO service_role;

DROP POLICY IF EXISTS story_tasks_service_role_all ON public.story_tasks;
CREATE POLICY story_tasks_service_role_all ON public.story_tasks
  FOR ALL TO service_role
  USING (true) WITH CHECK (true);

DROP POLICY IF EXISTS story_tasks_select_own ON public.story_tasks;
CREATE POLICY story_tasks_select_own ON public.story_tasks
  FOR SELECT TO authenticated
  USING (requested_by = (SELECT auth.uid()));

DROP POLICY IF EXISTS story_task_events_service_role_all ON public.story_task_events;
CREATE POLICY story_task_events_service_role_all ON public.story_task_events
  FOR ALL TO service_role
  USING (true) WITH CHECK (true);

DROP POLICY IF EXISTS story_task_events_select_own ON public.story_task_events;
CREATE POLICY story_task_events_select_own ON public.story_task_events
  FOR SELECT TO authenticated
  USING (
    EXISTS (
      SELECT 1 FROM public.story_tasks AS task
      WHERE task.id = story_task_events.task_id
        AND task.requested_by = (SELECT auth.uid())
    )
  );

-- schema/sql/40_realtime_publication.sql
-- Supabase Realtime broadcasts changes of both tables. Where the publication does not exist
-- (a plain PostgreSQL without stand-ins), say so and carry on.
DO $$
DECLARE
  table_name text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    RAISE NOTICE 'publication supabase_realtime does not exist: story task changes will not be broadcast';
    RETURN;
  END IF;
  IF (SELECT puballtables FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    RETURN;
  END IF;
  FOREACH table_name IN ARRAY ARRAY['story_tasks', 'story_task_events'] LOOP
    IF NOT EXISTS (
      SELECT 1 FROM pg_publication_tables
      WHERE pubname = 'supabase_realtime' AND schemaname = 'public' AND tablename = table_name
    ) THEN
      EXECUTE format('ALTER PUBLICATION supabase_realtime ADD TABLE public.%I', table_name);
    END IF;
  END LOOP;
END
$$;

-- schema/sql/50_story_task_functions.sql
-- The repository's atomic writes, one round trip each through PostgREST's rpc. They run with
-- the caller's rights (service_role: table grants and RLS apply as usual); only service_role
-- may call them.

-- Appends an event; with a progress_override, also moves the task's progress in the same
-- transaction. Progress never goes backwards: concurrent reports leave the highest one.
-- A finished task takes no more progress (ST001 from the status machine).
CREATE OR REPLACE FUNCTION public.append_story_task_event(
  task_id uuid,
  event_type text,
  message text,
  payload jsonb DEFAULT NULL,
  progress_override integer DEFAULT NULL
)
  RETURNS public.story_task_events
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
#variable_conflict use_variable
DECLARE
  event public.story_task_events;
  task_status text;
BEGIN
  IF progress_override IS NOT NULL THEN
    -- Lock the task before the insert: the insert's foreign-key check takes a KEY SHARE lock,
    -- and two appends each upgrading theirs would deadlock.
    SELECT t.status INTO task_status FROM public.story_tasks AS t WHERE t.id = task_id FOR NO KEY UPDATE;
    IF task_status IN ('succeeded', 'failed', 'cancelled') THEN
      RAISE EXCEPTION 'story task % is %, which is final: it takes no more progress', task_id, task_status
        USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', task_status, task_status);
    END IF;
  END IF;
  INSERT INTO public.story_task_events AS e (task_id, event_type, message, payload, progress_override)
  VALUES (task_id, event_type, message, payload, progress_override)
  RETURNING e.* INTO event;
  IF progress_override IS NOT NULL THEN
    UPDATE public.story_tasks AS t
    SET progress = progress_override
    WHERE t.id = task_id AND t.progress < progress_override;
  END IF;
  RETURN event;
END
$$;

-- Moves a task to `status` (the status machine decides whether it may), optionally with its
-- progress and the event that explains the change, in one transaction. While a task runs its
-- progress never goes backwards. An unknown task raises ST404.
CREATE OR REPLACE FUNCTION public.update_story_task_status(
  task_id uuid,
  status text,
  progress integer DEFAULT NULL,
  event_type text DEFAULT NULL,
  event_message text DEFAULT NULL,
  event_payload jsonb DEFAULT NULL
)
  RETURNS public.story_tasks
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
#variable_conflict use_variable
DECLARE
  task public.story_tasks;
BEGIN
  UPDATE public.story_tasks AS t
  SET status = status,
      progress = CASE
        WHEN progress IS NULL THEN t.progress
        WHEN t.status = 'running' THEN greatest(t.progress, progress)
        ELSE progress
      END
  WHERE t.id = task_id
  RETURNING t.* INTO task;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'story task % not found', task_id USING ERRCODE = 'ST404';
  END IF;
  IF event_message IS NOT NULL THEN
    INSERT INTO public.story_task_events (task_id, event_type, message, payload)
    VALUES (task_id, coalesce(event_type, 'info'), event_message, event_payload);
  END IF;
  RETURN task;
END
$$;

REVOKE EXECUTE ON FUNCTION public.append_story_task_event(uuid, text, text, jsonb, integer) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.append_story_task_event(uuid, text, text, jsonb, integer) TO service_role;
REVOKE EXECUTE ON FUNCTION public.update_story_task_status(uuid, text, integer, text, text, jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.update_story_task_status(uuid, text, integer, text, text, jsonb) TO service_role;
