-- retries_and_progress_invariants: written by `pnpm db:diff retries_and_progress_invariants` from schema/. Deploy tools run it in one transaction:
-- no table exists, even for a moment, without its RLS, policies and grants.
SET LOCAL lock_timeout = '5s';



-- Functions, triggers, policies, grants, RLS and publication membership (pg-delta)
SET LOCAL check_function_bodies = off;
CREATE OR REPLACE FUNCTION public.create_story_task(task jsonb, start_event jsonb DEFAULT NULL::jsonb)
 RETURNS public.story_tasks
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
CREATE OR REPLACE FUNCTION public.story_task_column_default(column_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
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
$function$;
CREATE OR REPLACE FUNCTION public.story_tasks_enforce_status_machine()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
CREATE OR REPLACE FUNCTION public.story_tasks_guard_columns()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
CREATE OR REPLACE FUNCTION public.update_story_task_status(task_id uuid, status text, expected_status text DEFAULT NULL::text, progress integer DEFAULT NULL::integer, event jsonb DEFAULT NULL::jsonb)
 RETURNS public.story_tasks
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
REVOKE ALL ON FUNCTION "public"."story_task_column_default"(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."story_task_column_default"(text) TO "service_role";
REVOKE ALL ON FUNCTION "public"."story_task_column_default"(text) FROM "anon";
REVOKE ALL ON FUNCTION "public"."story_task_column_default"(text) FROM "authenticated";

