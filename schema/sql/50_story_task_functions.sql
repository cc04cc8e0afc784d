-- The repository's writes, one round trip and one transaction each through PostgREST's rpc.
-- They run with the caller's rights (SECURITY INVOKER: service_role's table grants apply), and
-- only service_role may call them. Each may be retried after a lost response: a row given an id
-- that is already stored is the same row (nothing is written twice), or a conflict (ST409).

-- The default of a story_tasks column, as jsonb (JSON null for none), read from the table itself.
CREATE FUNCTION public.story_task_column_default(column_name text)
  RETURNS jsonb
  LANGUAGE plpgsql
  STABLE
  SET search_path = ''
AS $$
DECLARE
  expression text;
  value jsonb;
BEGIN
  SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO expression
  FROM pg_catalog.pg_attribute AS a
  JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = 'public.story_tasks'::pg_catalog.regclass AND a.attname = column_name;
  EXECUTE format('SELECT pg_catalog.to_jsonb(%s)', coalesce(expression, 'NULL::text')) INTO value;
  RETURN coalesce(value, 'null'::jsonb);
END
$$;

-- Creates a task from `task` (the columns a caller sets, as PostgREST would insert them: only
-- the keys given are inserted, so the others take their defaults), with `start_event` appended
-- in the same transaction. A task whose id is stored already is returned as it is, when its
-- operation, story, requester and payload are the ones given (its status and progress may
-- have moved on since, its display fields been refreshed); otherwise ST409.
CREATE FUNCTION public.create_story_task(task jsonb, start_event jsonb DEFAULT NULL)
  RETURNS public.story_tasks
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
DECLARE
  given public.story_tasks := jsonb_populate_record(NULL::public.story_tasks, task);
  columns text;
  created public.story_tasks;
  differing text;
BEGIN
  SELECT string_agg(format('%I', key), ', ') INTO columns FROM jsonb_object_keys(task) AS key;
  EXECUTE format(
    'INSERT INTO public.story_tasks AS t (%1$s) SELECT %1$s FROM jsonb_populate_record(NULL::public.story_tasks, $1) ON CONFLICT (id) DO NOTHING RETURNING t.*',
    columns
  ) INTO created USING task;
  IF created.id IS NULL THEN
    SELECT * INTO created FROM public.story_tasks AS t WHERE t.id = given.id;
    -- A key the retry leaves out means the column's default (payload '{}', no story, no requester).
    SELECT string_agg(key, ',' ORDER BY key) INTO differing
    FROM unnest(ARRAY['operation', 'story_id', 'requested_by', 'payload']) AS key
    WHERE to_jsonb(created) -> key IS DISTINCT FROM
      CASE WHEN task ? key THEN to_jsonb(given) -> key ELSE public.story_task_column_default(key) END;
    IF differing IS NOT NULL THEN
      RAISE EXCEPTION 'story task % exists with another %', given.id, replace(differing, ',', ', ')
        USING ERRCODE = 'ST409', DETAIL = format('id=%s fields=%s', given.id, differing);
    END IF;
    RETURN created;
  END IF;
  IF start_event IS NOT NULL THEN
    PERFORM public.append_story_task_events(created.id, jsonb_build_array(start_event));
  END IF;
  RETURN created;
END
$$;

-- Appends `events` (a JSON array of 1 to 1,000 events: id optional, event_type, message,
-- payload, progress_override) to a task, in the order given, in one transaction; the task's
-- progress moves to the highest override, never backwards. Appends to one task are serialised,
-- so their seq follows the order they commit in. Returns the events as stored, in
-- the order given. An event whose id is stored already is not written again, nor is its
-- progress applied again, when it is the same event; otherwise ST409.
CREATE FUNCTION public.append_story_task_events(task_id uuid, events jsonb)
  RETURNS SETOF public.story_task_events
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
#variable_conflict use_variable
DECLARE
  batch jsonb := events;
  highest integer;
  appended bigint;
  conflict record;
BEGIN
  IF jsonb_typeof(events) IS DISTINCT FROM 'array' OR jsonb_array_length(events) NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'events must be an array of 1 to 1000 events' USING ERRCODE = '22023';
  END IF;
  -- Each event needs its id before the statements below, which must all see the same batch.
  IF jsonb_path_exists(events, '$[*] ? (!exists(@.id) || @.id == null)') THEN
    SELECT jsonb_agg(CASE WHEN e.value ->> 'id' IS NULL THEN e.value || jsonb_build_object('id', gen_random_uuid()) ELSE e.value END ORDER BY e.position)
    INTO batch
    FROM jsonb_array_elements(events) WITH ORDINALITY AS e(value, position);
  END IF;

  IF (SELECT count(DISTINCT e.id) FROM jsonb_to_recordset(batch) AS e(id uuid)) < jsonb_array_length(batch) THEN
    RAISE EXCEPTION 'events must not repeat an id' USING ERRCODE = '22023';
  END IF;
  SELECT max(e.progress_override) INTO highest FROM jsonb_to_recordset(batch) AS e(progress_override integer);
  -- Lock the task before the inserts: appends to one task then take their seq in the order they
  -- commit (so a reader following `seq > last seen` misses none), and two appends cannot deadlock
  -- upgrading their foreign-key checks' KEY SHARE locks to update the progress.
  PERFORM 1 FROM public.story_tasks AS t WHERE t.id = task_id FOR NO KEY UPDATE;

  -- Stored already? One index probe per event (as `id = ANY (array)`, the planner may scan the table).
  IF NOT EXISTS (SELECT 1 FROM jsonb_to_recordset(batch) AS e(id uuid) JOIN public.story_task_events AS s ON s.id = e.id) THEN
    -- New events, as nearly always: stored and returned in one statement, in the order given.
    RETURN QUERY
      INSERT INTO public.story_task_events AS s (id, task_id, event_type, message, payload, progress_override)
      SELECT e.id, task_id, e.event_type, e.message, e.payload, e.progress_override
      FROM ROWS FROM (jsonb_to_recordset(batch) AS (id uuid, event_type text, message text, payload jsonb, progress_override integer))
        WITH ORDINALITY AS e(id, event_type, message, payload, progress_override, position)
      ORDER BY e.position
      ON CONFLICT (id) DO NOTHING
      RETURNING s.*;
    GET DIAGNOSTICS appended = ROW_COUNT;
    IF appended < jsonb_array_length(batch) THEN
      -- Another session stored some of these ids meanwhile: retried, this call takes the path below
      -- (PostgREST retries a serialization failure itself).
      RAISE EXCEPTION 'another session appended some of these events at the same moment' USING ERRCODE = '40001';
    END IF;
    IF highest IS NOT NULL THEN
      UPDATE public.story_tasks AS t SET progress = highest WHERE t.id = task_id AND t.progress < highest;
    END IF;
    RETURN;
  ELSE
    -- A retried call: the events stored before are not written again, nor their progress applied again.
    WITH inserted AS (
      INSERT INTO public.story_task_events AS s (id, task_id, event_type, message, payload, progress_override)
      SELECT e.id, task_id, e.event_type, e.message, e.payload, e.progress_override
      FROM ROWS FROM (jsonb_to_recordset(batch) AS (id uuid, event_type text, message text, payload jsonb, progress_override integer))
        WITH ORDINALITY AS e(id, event_type, message, payload, progress_override, position)
      WHERE NOT EXISTS (SELECT 1 FROM public.story_task_events AS stored WHERE stored.id = e.id)
      ORDER BY e.position
      ON CONFLICT (id) DO NOTHING
      RETURNING s.progress_override
    )
    SELECT max(i.progress_override) INTO highest FROM inserted AS i;
    IF highest IS NOT NULL THEN
      UPDATE public.story_tasks AS t SET progress = highest WHERE t.id = task_id AND t.progress < highest;
    END IF;
  END IF;

  -- The events stored before: each the same event, or a conflict.
  SELECT g.id, concat_ws(',',
      CASE WHEN s.task_id IS DISTINCT FROM task_id THEN 'task_id' END,
      CASE WHEN s.event_type IS DISTINCT FROM g.event_type THEN 'event_type' END,
      CASE WHEN s.message IS DISTINCT FROM g.message THEN 'message' END,
      CASE WHEN s.payload IS DISTINCT FROM g.payload THEN 'payload' END,
      CASE WHEN s.progress_override IS DISTINCT FROM g.progress_override THEN 'progress_override' END) AS fields
  INTO conflict
  FROM jsonb_to_recordset(batch) AS g(id uuid, event_type text, message text, payload jsonb, progress_override integer)
  JOIN public.story_task_events AS s ON s.id = g.id
  WHERE (s.task_id, s.event_type, s.message, s.payload, s.progress_override) IS DISTINCT FROM (task_id, g.event_type, g.message, g.payload, g.progress_override)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'story task event % exists with another %', conflict.id, replace(conflict.fields, ',', ', ')
      USING ERRCODE = 'ST409', DETAIL = format('id=%s fields=%s', conflict.id, conflict.fields);
  END IF;

  RETURN QUERY
    SELECT s.*
    FROM ROWS FROM (jsonb_to_recordset(batch) AS (id uuid)) WITH ORDINALITY AS g(id, position)
    JOIN public.story_task_events AS s ON s.id = g.id
    ORDER BY g.position;
END
$$;

-- Moves a task to `status`, as the status machine allows, with its progress and `event` (id
-- optional, event_type (default info), message, payload), in one transaction:
--   with `expected_status`, only if the task is in that status at that moment (a claim:
--   of two workers moving a queued task to running, exactly one wins), else ST001 naming the
--   status it is in;
--   a final task asked for the status it has is returned unchanged, with no event (a retried
--   completion);
--   a call whose event id is stored already (a retry whose response was lost) changes nothing
--   and returns the task as it is.
-- While a task runs its progress never goes backwards. An unknown task raises ST404.
CREATE FUNCTION public.update_story_task_status(
  task_id uuid,
  status text,
  expected_status text DEFAULT NULL,
  progress integer DEFAULT NULL,
  event jsonb DEFAULT NULL
)
  RETURNS public.story_tasks
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
#variable_conflict use_variable
DECLARE
  task public.story_tasks;
  event_id uuid := (event ->> 'id')::uuid;
BEGIN
  -- Locked first: a retry that overlaps its original waits here for it to commit, then finds its event.
  SELECT * INTO task FROM public.story_tasks AS t WHERE t.id = task_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'story task % not found', task_id USING ERRCODE = 'ST404';
  END IF;
  IF event_id IS NOT NULL AND EXISTS (SELECT 1 FROM public.story_task_events AS e WHERE e.id = event_id) THEN
    -- The event (compared, or refused as a conflict) and the task, as they are.
    PERFORM public.append_story_task_events(task_id, jsonb_build_array(jsonb_build_object('event_type', 'info') || event));
    RETURN task;
  END IF;
  IF task.status = status AND public.story_task_status_machine() -> 'final' ? status THEN
    RETURN task;
  END IF;
  IF expected_status IS NOT NULL AND task.status IS DISTINCT FROM expected_status THEN
    RAISE EXCEPTION 'story task % is %, not %: it cannot move to %', task_id, task.status, expected_status, status
      USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', task.status, status);
  END IF;

  UPDATE public.story_tasks AS t
  SET status = status,
      progress = CASE
        WHEN progress IS NULL THEN t.progress
        WHEN t.status = 'running' THEN greatest(t.progress, progress)
        ELSE progress
      END
  WHERE t.id = task_id
  RETURNING t.* INTO task;
  IF event IS NOT NULL THEN
    PERFORM public.append_story_task_events(task_id, jsonb_build_array(jsonb_build_object('event_type', 'info') || event));
  END IF;
  RETURN task;
END
$$;

REVOKE EXECUTE ON FUNCTION public.story_task_column_default FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.story_task_column_default TO service_role;
REVOKE EXECUTE ON FUNCTION public.create_story_task FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.create_story_task TO service_role;
REVOKE EXECUTE ON FUNCTION public.append_story_task_events FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.append_story_task_events TO service_role;
REVOKE EXECUTE ON FUNCTION public.update_story_task_status FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.update_story_task_status TO service_role;
