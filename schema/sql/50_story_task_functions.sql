-- The repository's atomic writes, one round trip each through PostgREST's rpc. They run with
-- the caller's rights (SECURITY INVOKER: service_role's table grants apply); only service_role
-- may call them.

-- Appends an event; with a progress_override, also moves the task's progress in the same
-- transaction. Progress never goes backwards: concurrent reports leave the highest one.
-- A finished task takes no more progress (ST001 from the status machine).
CREATE FUNCTION public.append_story_task_event(
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
CREATE FUNCTION public.update_story_task_status(
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

REVOKE EXECUTE ON FUNCTION public.append_story_task_event FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.append_story_task_event TO service_role;
REVOKE EXECUTE ON FUNCTION public.update_story_task_status FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.update_story_task_status TO service_role;
