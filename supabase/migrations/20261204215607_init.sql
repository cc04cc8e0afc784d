-- init: written by `pnpm db:diff init` from schema/. Deploy tools run it in one transaction:
-- no table exists, even for a moment, without its RLS, policies and grants.
SET LOCAL lock_timeout = '5s';

-- Tables, columns, indexes, foreign keys (Atlas)
-- Create "story_tasks" table
CREATE TABLE "public"."story_tasks" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "story_id" uuid NULL, "operation" text NOT NULL, "status" text NOT NULL DEFAULT 'queued', "progress" integer NOT NULL DEFAULT 0, "payload" jsonb NOT NULL DEFAULT '{}', "requested_by" uuid NULL, "display_fields" jsonb NULL, "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), "started_at" timestamptz NULL, "finished_at" timestamptz NULL, PRIMARY KEY ("id"), CONSTRAINT "story_tasks_requested_by_fkey" FOREIGN KEY ("requested_by") REFERENCES "auth"."users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "story_tasks_story_id_fkey" FOREIGN KEY ("story_id") REFERENCES "public"."stories" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "story_tasks_finished_at_check" CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text, 'cancelled'::text])) = (finished_at IS NOT NULL)), CONSTRAINT "story_tasks_operation_check" CHECK (operation = ANY (ARRAY['CREATE_CONSTITUTION'::text, 'CREATE_INTERACTIVE_SCRIPT'::text, 'CREATE_VISUAL_DESIGN'::text, 'CREATE_VISUAL_REFERENCE'::text, 'CREATE_VISUAL_REFERENCE_IMAGES'::text, 'CREATE_AUDIO_DESIGN'::text, 'CREATE_SHOT_PRODUCTION'::text, 'CREATE_SHOT_IMAGES'::text, 'CREATE_SHOT_VIDEO'::text, 'CREATE_SHOT_AUDIO'::text, 'CREATE_CHARACTER_MODEL_SHEETS'::text, 'CREATE_ENVIRONMENT_REFERENCE_IMAGE'::text, 'CREATE_PLAYER_BUNDLE'::text, 'CREATE_STORY'::text, 'RENAME_STORY'::text, 'DELETE_STORY'::text, 'REGENERATE_CONSTITUTION'::text, 'CONSTITUTION_CHAT_UPDATE'::text, 'RUN_WORKFLOW_TASK'::text, 'BUILD_PLAYER_BUNDLE'::text])), CONSTRAINT "story_tasks_progress_check" CHECK ((progress >= 0) AND (progress <= 100)), CONSTRAINT "story_tasks_status_check" CHECK (status = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'failed'::text, 'cancelled'::text])), CONSTRAINT "story_tasks_succeeded_progress_check" CHECK ((status <> 'succeeded'::text) OR (progress = 100)));
-- Create index "story_tasks_finished_at_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_finished_at_idx" ON "public"."story_tasks" ("finished_at") WHERE (finished_at IS NOT NULL);
-- Create index "story_tasks_requested_by_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_requested_by_idx" ON "public"."story_tasks" ("requested_by");
-- Create index "story_tasks_status_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_status_idx" ON "public"."story_tasks" ("status");
-- Create index "story_tasks_story_id_created_at_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_story_id_created_at_idx" ON "public"."story_tasks" ("story_id", "created_at" DESC);
-- Set comment to column: "status" on table: "story_tasks"
COMMENT ON COLUMN "public"."story_tasks" ."status" IS '{"complete":"succeeded","final":["succeeded","failed","cancelled"],"initial":["queued","running"],"statuses":["queued","running","succeeded","failed","cancelled"],"transitions":{"cancelled":[],"failed":[],"queued":["running","cancelled","failed"],"running":["succeeded","failed","cancelled"],"succeeded":[]}}';
-- Create "story_task_events" table
CREATE TABLE "public"."story_task_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "seq" bigint NOT NULL GENERATED ALWAYS AS IDENTITY, "task_id" uuid NOT NULL, "event_type" text NOT NULL, "message" text NOT NULL, "payload" jsonb NULL, "progress_override" integer NULL, "created_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("id"), CONSTRAINT "story_task_events_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "public"."story_tasks" ("id") ON UPDATE NO ACTION ON DELETE CASCADE, CONSTRAINT "story_task_events_event_type_check" CHECK (event_type = ANY (ARRAY['info'::text, 'progress'::text, 'error'::text, 'chat_message'::text])), CONSTRAINT "story_task_events_message_check" CHECK (message <> ''::text), CONSTRAINT "story_task_events_progress_override_check" CHECK ((progress_override >= 0) AND (progress_override <= 100)));
-- Create index "story_task_events_task_id_created_at_idx" to table: "story_task_events"
CREATE INDEX "story_task_events_task_id_created_at_idx" ON "public"."story_task_events" ("task_id", "created_at");
-- Create index "story_task_events_task_id_seq_idx" to table: "story_task_events"
CREATE INDEX "story_task_events_task_id_seq_idx" ON "public"."story_task_events" ("task_id", "seq");



-- Functions, triggers, policies, grants, RLS and publication membership (pg-delta)
SET LOCAL check_function_bodies = off;
REVOKE ALL ON TABLE "public"."story_task_events" FROM "anon";
REVOKE ALL ON TABLE "public"."story_tasks" FROM "anon";
ALTER TABLE "public"."story_task_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "public"."story_tasks" ENABLE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION public.append_story_task_events(task_id uuid, events jsonb)
 RETURNS SETOF public.story_task_events
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
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
    SELECT string_agg(key, ',' ORDER BY key) INTO differing
    FROM jsonb_object_keys(task) AS key
    WHERE key IN ('operation', 'story_id', 'requested_by', 'payload')
      AND to_jsonb(created) -> key IS DISTINCT FROM to_jsonb(given) -> key;
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
CREATE OR REPLACE FUNCTION public.prune_finished_story_tasks(finished_before timestamp with time zone, batch_size integer DEFAULT 1000)
 RETURNS TABLE(tasks integer, events integer)
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
#variable_conflict use_variable
DECLARE
  doomed uuid[];
BEGIN
  IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
    RAISE EXCEPTION 'batch_size must be from 1 to 10000' USING ERRCODE = '22023';
  END IF;
  SELECT coalesce(array_agg(d.id), '{}') INTO doomed
  FROM (
    SELECT t.id FROM public.story_tasks AS t
    WHERE t.finished_at < finished_before
    ORDER BY t.finished_at
    LIMIT batch_size
    FOR UPDATE SKIP LOCKED
  ) AS d;
  -- Counted under the tasks' locks, which keep new events of theirs out until the delete.
  SELECT count(*)::integer INTO events FROM public.story_task_events AS e WHERE e.task_id = ANY (doomed);
  DELETE FROM public.story_tasks AS t WHERE t.id = ANY (doomed);
  tasks := cardinality(doomed);
  RETURN NEXT;
END
$function$;
CREATE OR REPLACE FUNCTION public.rescue_stale_story_tasks(stale_after interval, message text DEFAULT NULL::text)
 RETURNS SETOF public.story_tasks
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
#variable_conflict use_variable
BEGIN
  IF stale_after IS NULL OR stale_after <= interval '0' THEN
    RAISE EXCEPTION 'stale_after must be a positive interval' USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
    WITH stale AS (
      SELECT t.id, greatest(t.updated_at, (SELECT max(e.created_at) FROM public.story_task_events AS e WHERE e.task_id = t.id)) AS last_activity
      FROM public.story_tasks AS t
      WHERE t.status = 'running'
        AND t.updated_at < now() - stale_after
        AND NOT EXISTS (SELECT 1 FROM public.story_task_events AS e WHERE e.task_id = t.id AND e.created_at >= now() - stale_after)
      FOR UPDATE OF t SKIP LOCKED
    ), failed AS (
      UPDATE public.story_tasks AS t SET status = 'failed'
      FROM stale
      WHERE t.id = stale.id AND t.status = 'running'
      RETURNING t.*
    ), logged AS (
      INSERT INTO public.story_task_events (task_id, event_type, message, payload)
      SELECT f.id, 'error',
        coalesce(message, format('No activity for %s: the worker is presumed dead', date_trunc('second', now() - s.last_activity))),
        jsonb_build_object('lastActivityAt', s.last_activity, 'silentForMs', round(extract(epoch FROM now() - s.last_activity) * 1000))
      FROM failed AS f JOIN stale AS s ON s.id = f.id
    )
    SELECT f.* FROM failed AS f ORDER BY f.started_at;
END
$function$;
CREATE OR REPLACE FUNCTION public.story_task_events_guard_append()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
CREATE OR REPLACE FUNCTION public.story_task_status_machine()
 RETURNS jsonb
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  SELECT pg_catalog.col_description(a.attrelid, a.attnum)::jsonb
  FROM pg_catalog.pg_attribute AS a
  WHERE a.attrelid = 'public.story_tasks'::pg_catalog.regclass AND a.attname = 'status'
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
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NOT machine -> 'transitions' -> OLD.status ? NEW.status THEN
      RAISE EXCEPTION 'story task % cannot move from % to %', OLD.id, OLD.status, NEW.status
        USING ERRCODE = 'ST001', DETAIL = format('from=%s to=%s', OLD.status, NEW.status);
    END IF;
  ELSIF NEW.status = 'running' AND NEW.progress < OLD.progress THEN
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
  IF event_id IS NOT NULL AND EXISTS (SELECT 1 FROM public.story_task_events AS e WHERE e.id = event_id) THEN
    -- The event (compared, or refused as a conflict) and the task, as they are.
    PERFORM public.append_story_task_events(task_id, jsonb_build_array(jsonb_build_object('event_type', 'info') || event));
    SELECT * INTO task FROM public.story_tasks AS t WHERE t.id = task_id;
    RETURN task;
  END IF;

  SELECT * INTO task FROM public.story_tasks AS t WHERE t.id = task_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'story task % not found', task_id USING ERRCODE = 'ST404';
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
CREATE TRIGGER story_task_events_guard_append BEFORE INSERT ON public.story_task_events FOR EACH ROW EXECUTE FUNCTION public.story_task_events_guard_append();
CREATE TRIGGER story_tasks_enforce_status_machine BEFORE INSERT OR UPDATE ON public.story_tasks FOR EACH ROW EXECUTE FUNCTION public.story_tasks_enforce_status_machine();
CREATE TRIGGER story_tasks_guard_columns BEFORE INSERT OR UPDATE ON public.story_tasks FOR EACH ROW EXECUTE FUNCTION public.story_tasks_guard_columns();
CREATE POLICY "story_task_events_select_own" ON "public"."story_task_events" FOR SELECT TO "authenticated" USING ((EXISTS ( SELECT 1
   FROM public.story_tasks task
  WHERE ((task.id = story_task_events.task_id) AND (task.requested_by = ( SELECT auth.uid() AS uid))))));
CREATE POLICY "story_tasks_select_own" ON "public"."story_tasks" FOR SELECT TO "authenticated" USING ((requested_by = ( SELECT auth.uid() AS uid)));
ALTER PUBLICATION "supabase_realtime" ADD TABLE "public"."story_task_events";
ALTER PUBLICATION "supabase_realtime" ADD TABLE "public"."story_tasks";
REVOKE ALL ON FUNCTION "public"."append_story_task_events"(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."append_story_task_events"(uuid, jsonb) TO "service_role";
REVOKE ALL ON FUNCTION "public"."create_story_task"(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."create_story_task"(jsonb, jsonb) TO "service_role";
REVOKE ALL ON FUNCTION "public"."prune_finished_story_tasks"(timestamp with time zone, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."prune_finished_story_tasks"(timestamp with time zone, integer) TO "service_role";
REVOKE ALL ON FUNCTION "public"."rescue_stale_story_tasks"(interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."rescue_stale_story_tasks"(interval, text) TO "service_role";
REVOKE ALL ON FUNCTION "public"."story_task_events_guard_append"() FROM PUBLIC;
REVOKE ALL ON FUNCTION "public"."story_task_status_machine"() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."story_task_status_machine"() TO "service_role";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM PUBLIC;
REVOKE ALL ON FUNCTION "public"."story_tasks_guard_columns"() FROM PUBLIC;
REVOKE ALL ON FUNCTION "public"."update_story_task_status"(uuid, text, text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."update_story_task_status"(uuid, text, text, integer, jsonb) TO "service_role";
REVOKE ALL ON TABLE "public"."story_task_events" FROM "authenticated";
GRANT SELECT ON TABLE "public"."story_task_events" TO "authenticated";
REVOKE ALL ON TABLE "public"."story_task_events" FROM "service_role";
GRANT INSERT, SELECT ON TABLE "public"."story_task_events" TO "service_role";
REVOKE ALL ON TABLE "public"."story_tasks" FROM "authenticated";
GRANT SELECT ON TABLE "public"."story_tasks" TO "authenticated";
REVOKE ALL ON TABLE "public"."story_tasks" FROM "service_role";
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE "public"."story_tasks" TO "service_role";
REVOKE ALL ON FUNCTION "public"."append_story_task_events"(uuid, jsonb) FROM "anon";
REVOKE ALL ON FUNCTION "public"."append_story_task_events"(uuid, jsonb) FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."create_story_task"(jsonb, jsonb) FROM "anon";
REVOKE ALL ON FUNCTION "public"."create_story_task"(jsonb, jsonb) FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."prune_finished_story_tasks"(timestamp with time zone, integer) FROM "anon";
REVOKE ALL ON FUNCTION "public"."prune_finished_story_tasks"(timestamp with time zone, integer) FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."rescue_stale_story_tasks"(interval, text) FROM "anon";
REVOKE ALL ON FUNCTION "public"."rescue_stale_story_tasks"(interval, text) FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_task_events_guard_append"() FROM "anon";
REVOKE ALL ON FUNCTION "public"."story_task_events_guard_append"() FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_task_events_guard_append"() FROM "service_role";
REVOKE ALL ON FUNCTION "public"."story_task_status_machine"() FROM "anon";
REVOKE ALL ON FUNCTION "public"."story_task_status_machine"() FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM "anon";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM "service_role";
REVOKE ALL ON FUNCTION "public"."story_tasks_guard_columns"() FROM "anon";
REVOKE ALL ON FUNCTION "public"."story_tasks_guard_columns"() FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_tasks_guard_columns"() FROM "service_role";
REVOKE ALL ON FUNCTION "public"."update_story_task_status"(uuid, text, text, integer, jsonb) FROM "anon";
REVOKE ALL ON FUNCTION "public"."update_story_task_status"(uuid, text, text, integer, jsonb) FROM "authenticated";


-- Identity-sequence privileges and column statistics targets (neither Atlas nor pg-delta compares them)
REVOKE SELECT ON SEQUENCE public.story_task_events_seq_seq FROM anon;
REVOKE UPDATE ON SEQUENCE public.story_task_events_seq_seq FROM anon;
REVOKE USAGE ON SEQUENCE public.story_task_events_seq_seq FROM anon;
REVOKE SELECT ON SEQUENCE public.story_task_events_seq_seq FROM authenticated;
REVOKE UPDATE ON SEQUENCE public.story_task_events_seq_seq FROM authenticated;
REVOKE USAGE ON SEQUENCE public.story_task_events_seq_seq FROM authenticated;
REVOKE SELECT ON SEQUENCE public.story_task_events_seq_seq FROM service_role;
REVOKE UPDATE ON SEQUENCE public.story_task_events_seq_seq FROM service_role;
REVOKE USAGE ON SEQUENCE public.story_task_events_seq_seq FROM service_role;
ALTER TABLE public.story_task_events ALTER COLUMN task_id SET STATISTICS 0;
ALTER TABLE public.story_tasks ALTER COLUMN id SET STATISTICS 0;
ALTER TABLE public.story_tasks ALTER COLUMN requested_by SET STATISTICS 0;
ALTER TABLE public.story_tasks ALTER COLUMN story_id SET STATISTICS 0;
