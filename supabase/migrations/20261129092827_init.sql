-- Create "story_tasks" table
CREATE TABLE "public"."story_tasks" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "story_id" uuid NULL,
  "operation" text NOT NULL,
  "status" text NOT NULL DEFAULT 'queued',
  "progress" integer NOT NULL DEFAULT 0,
  "payload" jsonb NOT NULL DEFAULT '{}',
  "requested_by" uuid NULL,
  "display_fields" jsonb NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  "started_at" timestamptz NULL,
  "finished_at" timestamptz NULL,
  PRIMARY KEY ("id"),
  CONSTRAINT "story_tasks_requested_by_fkey" FOREIGN KEY ("requested_by") REFERENCES "auth"."users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION,
  CONSTRAINT "story_tasks_story_id_fkey" FOREIGN KEY ("story_id") REFERENCES "public"."stories" ("id") ON UPDATE NO ACTION ON DELETE SET NULL,
  CONSTRAINT "story_tasks_finished_at_check" CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text, 'cancelled'::text])) = (finished_at IS NOT NULL)),
  CONSTRAINT "story_tasks_operation_check" CHECK (operation = ANY (ARRAY['CREATE_CONSTITUTION'::text, 'CREATE_INTERACTIVE_SCRIPT'::text, 'CREATE_VISUAL_DESIGN'::text, 'CREATE_VISUAL_REFERENCE'::text, 'CREATE_VISUAL_REFERENCE_IMAGES'::text, 'CREATE_AUDIO_DESIGN'::text, 'CREATE_SHOT_PRODUCTION'::text, 'CREATE_SHOT_IMAGES'::text, 'CREATE_SHOT_VIDEO'::text, 'CREATE_SHOT_AUDIO'::text, 'CREATE_CHARACTER_MODEL_SHEETS'::text, 'CREATE_ENVIRONMENT_REFERENCE_IMAGE'::text, 'CREATE_PLAYER_BUNDLE'::text, 'CREATE_STORY'::text, 'RENAME_STORY'::text, 'DELETE_STORY'::text, 'REGENERATE_CONSTITUTION'::text, 'CONSTITUTION_CHAT_UPDATE'::text, 'RUN_WORKFLOW_TASK'::text, 'BUILD_PLAYER_BUNDLE'::text])),
  CONSTRAINT "story_tasks_progress_check" CHECK ((progress >= 0) AND (progress <= 100)),
  CONSTRAINT "story_tasks_status_check" CHECK (status = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'failed'::text, 'cancelled'::text])),
  CONSTRAINT "story_tasks_succeeded_progress_check" CHECK ((status <> 'succeeded'::text) OR (progress = 100))
);
-- Create index "story_tasks_status_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_status_idx" ON "public"."story_tasks" ("status");
-- Create index "story_tasks_story_id_created_at_idx" to table: "story_tasks"
CREATE INDEX "story_tasks_story_id_created_at_idx" ON "public"."story_tasks" ("story_id", "created_at" DESC);
-- Create "story_task_events" table
CREATE TABLE "public"."story_task_events" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "seq" bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
  "task_id" uuid NOT NULL,
  "event_type" text NOT NULL,
  "message" text NOT NULL,
  "payload" jsonb NULL,
  "progress_override" integer NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id"),
  CONSTRAINT "story_task_events_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "public"."story_tasks" ("id") ON UPDATE NO ACTION ON DELETE CASCADE,
  CONSTRAINT "story_task_events_event_type_check" CHECK (event_type = ANY (ARRAY['info'::text, 'progress'::text, 'error'::text, 'chat_message'::text])),
  CONSTRAINT "story_task_events_message_check" CHECK (message <> ''::text),
  CONSTRAINT "story_task_events_progress_override_check" CHECK ((progress_override >= 0) AND (progress_override <= 100))
);
-- Create index "story_task_events_task_id_created_at_idx" to table: "story_task_events"
CREATE INDEX "story_task_events_task_id_created_at_idx" ON "public"."story_task_events" ("task_id", "created_at");
-- Create index "story_task_events_task_id_seq_idx" to table: "story_task_events"
CREATE INDEX "story_task_events_task_id_seq_idx" ON "public"."story_task_events" ("task_id", "seq");
