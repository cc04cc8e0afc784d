# story_tasks: one row per long-running job the agent backend runs for a story.

locals {
  # The operations the host runs. Adding one is one line here, then `pnpm db:diff <name>` and `pnpm codegen`.
  story_task_operations = [
    # CLI workflow tasks (the host runs these today)
    "CREATE_CONSTITUTION",
    "CREATE_INTERACTIVE_SCRIPT",
    "CREATE_VISUAL_DESIGN",
    "CREATE_VISUAL_REFERENCE",
    "CREATE_VISUAL_REFERENCE_IMAGES",
    "CREATE_AUDIO_DESIGN",
    "CREATE_SHOT_PRODUCTION",
    "CREATE_SHOT_IMAGES",
    "CREATE_SHOT_VIDEO",
    "CREATE_SHOT_AUDIO",
    "CREATE_CHARACTER_MODEL_SHEETS",
    "CREATE_ENVIRONMENT_REFERENCE_IMAGE",
    "CREATE_PLAYER_BUNDLE",
    # worker/API and UI milestones
    "CREATE_STORY",
    "RENAME_STORY",
    "DELETE_STORY",
    "REGENERATE_CONSTITUTION",
    "CONSTITUTION_CHAT_UPDATE",
    "RUN_WORKFLOW_TASK",
    "BUILD_PLAYER_BUNDLE",
  ]

  # The status machine, declared once. Everything else derives from it: the CHECKs below, the
  # machine the trigger reads from the status column's comment (schema/sql/20_...), and the
  # TypeScript `pnpm codegen` writes (the unions, STORY_TASK_FINAL_STATUSES, canMoveTo, ...).
  story_task_statuses = ["queued", "running", "succeeded", "failed", "cancelled"]
  # Where a new task starts.
  story_task_initial_statuses = ["queued", "running"]
  # Where each status may go; a status that may go nowhere is final.
  story_task_transitions = {
    queued    = ["running", "cancelled", "failed"]
    running   = ["succeeded", "failed", "cancelled"]
    succeeded = []
    failed    = []
    cancelled = []
  }
  # The status of a task that did all its work: it ends at progress 100.
  story_task_complete_status = "succeeded"
  story_task_final_statuses = [for s in local.story_task_statuses : s if join(",", local.story_task_transitions[s]) == ""]
  story_task_status_machine = {
    statuses    = local.story_task_statuses
    initial     = local.story_task_initial_statuses
    transitions = local.story_task_transitions
    final       = local.story_task_final_statuses
    complete    = local.story_task_complete_status
  }
}

table "story_tasks" {
  schema = schema.public
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "story_id" {
    type = uuid
    null = true
  }
  column "operation" {
    type = text
  }
  # Its comment is the status machine, as JSON, for the trigger and the bindings to read.
  column "status" {
    type    = text
    default = local.story_task_initial_statuses[0]
    comment = jsonencode(local.story_task_status_machine)
  }
  column "progress" {
    type    = integer
    default = 0
  }
  column "payload" {
    type    = jsonb
    default = sql("'{}'::jsonb")
  }
  column "requested_by" {
    type = uuid
    null = true
  }
  column "display_fields" {
    type = jsonb
    null = true
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  column "updated_at" {
    type    = timestamptz
    default = sql("now()")
  }
  # Set by the status machine (schema/sql/20_story_task_status_machine.sql), never by clients.
  column "started_at" {
    type = timestamptz
    null = true
  }
  column "finished_at" {
    type = timestamptz
    null = true
  }
  primary_key {
    columns = [column.id]
  }
  foreign_key "story_tasks_story_id_fkey" {
    columns     = [column.story_id]
    ref_columns = [table.stories.column.id]
    on_update   = NO_ACTION
    on_delete   = SET_NULL
  }
  # SET NULL, where the design gives no action: Supabase Auth deletes a user by deleting the
  # auth.users row, which must keep their tasks rather than fail.
  foreign_key "story_tasks_requested_by_fkey" {
    columns     = [column.requested_by]
    ref_columns = [table.users.column.id]
    on_update   = NO_ACTION
    on_delete   = SET_NULL
  }
  check "story_tasks_operation_check" {
    expr = format("(operation = ANY (ARRAY[%s]))", join(", ", [for op in local.story_task_operations : "'${op}'::text"]))
  }
  check "story_tasks_status_check" {
    expr = format("(status = ANY (ARRAY[%s]))", join(", ", [for s in local.story_task_statuses : "'${s}'::text"]))
  }
  check "story_tasks_progress_check" {
    expr = "((progress >= 0) AND (progress <= 100))"
  }
  # A task is finished exactly when its status is final.
  check "story_tasks_finished_at_check" {
    expr = format("((status = ANY (ARRAY[%s])) = (finished_at IS NOT NULL))", join(", ", [for s in local.story_task_final_statuses : "'${s}'::text"]))
  }
  check "story_tasks_succeeded_progress_check" {
    expr = format("((status <> '%s'::text) OR (progress = 100))", local.story_task_complete_status)
  }
  index "story_tasks_story_id_created_at_idx" {
    on {
      column = column.story_id
    }
    on {
      column = column.created_at
      desc   = true
    }
  }
  index "story_tasks_status_idx" {
    columns = [column.status]
  }
  # The authenticated RLS policy filters on it, and deleting a user looks their tasks up by it.
  index "story_tasks_requested_by_idx" {
    columns = [column.requested_by]
  }
  # Retention deletes the tasks that finished longest ago, a batch at a time.
  index "story_tasks_finished_at_idx" {
    columns = [column.finished_at]
    where   = "(finished_at IS NOT NULL)"
  }
}
