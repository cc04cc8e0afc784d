# story_task_events: the append-only log of what happened while a task ran.

locals {
  # The kinds of event. Adding one is one line here, then `pnpm db:diff <name>` and `pnpm codegen`.
  story_task_event_types = ["info", "progress", "error", "chat_message"]
}

table "story_task_events" {
  schema = schema.public
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  # Append order: two events with the same created_at (one transaction's now()) never tie.
  column "seq" {
    type = bigint
    identity {
      generated = ALWAYS
    }
  }
  column "task_id" {
    type = uuid
  }
  column "event_type" {
    type = text
  }
  column "message" {
    type = text
  }
  column "payload" {
    type = jsonb
    null = true
  }
  column "progress_override" {
    type = integer
    null = true
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key {
    columns = [column.id]
  }
  foreign_key "story_task_events_task_id_fkey" {
    columns     = [column.task_id]
    ref_columns = [table.story_tasks.column.id]
    on_update   = NO_ACTION
    on_delete   = CASCADE
  }
  check "story_task_events_event_type_check" {
    expr = format("(event_type = ANY (ARRAY[%s]))", join(", ", [for type in local.story_task_event_types : "'${type}'::text"]))
  }
  check "story_task_events_message_check" {
    expr = "(message <> ''::text)"
  }
  check "story_task_events_progress_override_check" {
    expr = "((progress_override >= 0) AND (progress_override <= 100))"
  }
  index "story_task_events_task_id_created_at_idx" {
    columns = [column.task_id, column.created_at]
  }
  # A task's events in append order, newest first too (the API's "latest 50").
  index "story_task_events_task_id_seq_idx" {
    columns = [column.task_id, column.seq]
  }
}
