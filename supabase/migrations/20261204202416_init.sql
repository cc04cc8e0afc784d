-- init: written by `pnpm db:diff init` from schema/. Deploy tools run it in one transaction:
-- no table exists, even for a moment, without its RLS, policies and grants.
SET LOCAL lock_timeout = '5s';

-- Tables, columns, indexes, foreign keys (Atlas)
-- Create "story_tasks" table
CREATE TABLE "public"."story_tasks" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "story_id" uuid NULL, "operation" text NOT NULL, "status" text NOT NULL DEFAULT 'queued', "progress" integer NOT NULL DEFAULT 0, "payload" jsonb NOT NULL DEFAULT '{}', "requested_by" uuid NULL, "display_fields" jsonb NULL, "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), "started_at" timestamptz NULL, "finished_at" timestamptz NULL, PRIMARY KEY ("id"), CONSTRAINT "story_tasks_requested_by_fkey" FOREIGN KEY ("requested_by") REFERENCES "auth"."users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "story_tasks_story_id_fkey" FOREIGN KEY ("story_id") REFERENCES "public"."stories" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "story_tasks_finished_at_check" CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text, 'cancelled'::text])) = (finished_at IS NOT NULL)), CONSTRAINT "story_tasks_operation_check" CHECK (operation = ANY (ARRAY['CREATE_CONSTITUTION'::text, 'CREATE_INTERACTIVE_SCRIPT'::text, 'CREATE_VISUAL_DESIGN'::text, 'CREATE_VISUAL_REFERENCE'::text, 'CREATE_VISUAL_REFERENCE_IMAGES'::text, 'CREATE_AUDIO_DESIGN'::text, 'CREATE_SHOT_PRODUCTION'::text, 'CREATE_SHOT_IMAGES'::text, 'CREATE_SHOT_VIDEO'::text, 'CREATE_SHOT_AUDIO'::text, 'CREATE_CHARACTER_MODEL_SHEETS'::text, 'CREATE_ENVIRONMENT_REFERENCE_IMAGE'::text, 'CREATE_PLAYER_BUNDLE'::text, 'CREATE_STORY'::text, 'RENAME_STORY'::text, 'DELETE_STORY'::text, 'REGENERATE_CONSTITUTION'::text, 'CONSTITUTION_CHAT_UPDATE'::text, 'RUN_WORKFLOW_TASK'::text, 'BUILD_PLAYER_BUNDLE'::text])), CONSTRAINT "story_tasks_progress_check" CHECK ((progress >= 0) AND (progress <= 100)), CONSTRAINT "story_tasks_status_check" CHECK (status = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'failed'::text, 'cancelled'::text])), CONSTRAINT "story_tasks_succeeded_progress_check" CHECK ((status <> 'succeeded'::text) OR (progress = 100)));
-- Create index "story_tasks_requested_by_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_requested_by_idx" ON "public"."story_tasks" ("requested_by");
-- Create index "story_tasks_status_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_status_idx" ON "public"."story_tasks" ("status");
-- Create index "story_tasks_story_id_created_at_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_story_id_created_at_idx" ON "public"."story_tasks" ("story_id", "created_at" DESC);
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
CREATE OR REPLACE FUNCTION public.append_story_task_event(task_id uuid, event_type text, message text, payload jsonb DEFAULT NULL::jsonb, progress_override integer DEFAULT NULL::integer)
 RETURNS public.story_task_events
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
CREATE OR REPLACE FUNCTION public.story_tasks_enforce_status_machine()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
CREATE OR REPLACE FUNCTION public.story_tasks_touch_updated_at()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$function$;
CREATE OR REPLACE FUNCTION public.update_story_task_status(task_id uuid, status text, progress integer DEFAULT NULL::integer, event_type text DEFAULT NULL::text, event_message text DEFAULT NULL::text, event_payload jsonb DEFAULT NULL::jsonb)
 RETURNS public.story_tasks
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
CREATE TRIGGER story_tasks_enforce_status_machine BEFORE INSERT OR UPDATE ON public.story_tasks FOR EACH ROW EXECUTE FUNCTION public.story_tasks_enforce_status_machine();
CREATE TRIGGER story_tasks_touch_updated_at BEFORE UPDATE ON public.story_tasks FOR EACH ROW EXECUTE FUNCTION public.story_tasks_touch_updated_at();
CREATE POLICY "story_task_events_select_own" ON "public"."story_task_events" FOR SELECT TO "authenticated" USING ((EXISTS ( SELECT 1
   FROM public.story_tasks task
  WHERE ((task.id = story_task_events.task_id) AND (task.requested_by = ( SELECT auth.uid() AS uid))))));
CREATE POLICY "story_tasks_select_own" ON "public"."story_tasks" FOR SELECT TO "authenticated" USING ((requested_by = ( SELECT auth.uid() AS uid)));
ALTER PUBLICATION "supabase_realtime" ADD TABLE "public"."story_task_events";
ALTER PUBLICATION "supabase_realtime" ADD TABLE "public"."story_tasks";
REVOKE ALL ON FUNCTION "public"."append_story_task_event"(uuid, text, text, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."append_story_task_event"(uuid, text, text, jsonb, integer) TO "service_role";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM PUBLIC;
REVOKE ALL ON FUNCTION "public"."story_tasks_touch_updated_at"() FROM PUBLIC;
REVOKE ALL ON FUNCTION "public"."update_story_task_status"(uuid, text, integer, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "public"."update_story_task_status"(uuid, text, integer, text, text, jsonb) TO "service_role";
REVOKE ALL ON TABLE "public"."story_task_events" FROM "authenticated";
GRANT SELECT ON TABLE "public"."story_task_events" TO "authenticated";
REVOKE ALL ON TABLE "public"."story_task_events" FROM "service_role";
GRANT INSERT, SELECT ON TABLE "public"."story_task_events" TO "service_role";
REVOKE ALL ON TABLE "public"."story_tasks" FROM "authenticated";
GRANT SELECT ON TABLE "public"."story_tasks" TO "authenticated";
REVOKE ALL ON TABLE "public"."story_tasks" FROM "service_role";
GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE "public"."story_tasks" TO "service_role";
REVOKE ALL ON FUNCTION "public"."append_story_task_event"(uuid, text, text, jsonb, integer) FROM "anon";
REVOKE ALL ON FUNCTION "public"."append_story_task_event"(uuid, text, text, jsonb, integer) FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM "anon";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_tasks_enforce_status_machine"() FROM "service_role";
REVOKE ALL ON FUNCTION "public"."story_tasks_touch_updated_at"() FROM "anon";
REVOKE ALL ON FUNCTION "public"."story_tasks_touch_updated_at"() FROM "authenticated";
REVOKE ALL ON FUNCTION "public"."story_tasks_touch_updated_at"() FROM "service_role";
REVOKE ALL ON FUNCTION "public"."update_story_task_status"(uuid, text, integer, text, text, jsonb) FROM "anon";
REVOKE ALL ON FUNCTION "public"."update_story_task_status"(uuid, text, integer, text, text, jsonb) FROM "authenticated";


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
