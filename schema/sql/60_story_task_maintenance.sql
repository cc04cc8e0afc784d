-- Maintenance a Supabase project schedules with pg_cron (README, "Scheduling"), also run by the
-- repository (rescueStaleTasks, pruneFinishedTasks) and the CLI (`story-tasks rescue | prune`).

-- Fails every running task whose last activity (its newest event, or its last status or
-- progress change) is older than `stale_after`: its worker is presumed dead. Each gets an error
-- event saying how long it had been silent (or `message`). Safe to run from several sessions
-- at once: a task another session is rescuing is skipped, so none is rescued twice. Returns the
-- rescued tasks.
CREATE FUNCTION public.rescue_stale_story_tasks(stale_after interval, message text DEFAULT NULL)
  RETURNS SETOF public.story_tasks
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
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
$$;

-- Deletes up to `batch_size` tasks that finished before `finished_before`, oldest first, with
-- their events (the foreign key's cascade), and returns how many of each went. One batch per
-- call keeps each transaction's locks short; call it again until it returns fewer tasks than
-- `batch_size`. Tasks another session holds are left for the next call.
CREATE FUNCTION public.prune_finished_story_tasks(finished_before timestamptz, batch_size integer DEFAULT 1000)
  RETURNS TABLE (tasks integer, events integer)
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
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
$$;

REVOKE EXECUTE ON FUNCTION public.rescue_stale_story_tasks FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.rescue_stale_story_tasks TO service_role;
REVOKE EXECUTE ON FUNCTION public.prune_finished_story_tasks FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.prune_finished_story_tasks TO service_role;
