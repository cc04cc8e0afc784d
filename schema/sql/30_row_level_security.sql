-- Who may see and change story tasks through the Supabase API, exactly, whatever the platform's
-- default privileges gave (Supabase grants ALL on every new table and sequence in public to
-- anon, authenticated and service_role):
--   service_role (the agent backend): reads and writes tasks; reads and appends events, which
--     are an append-only log (deleting a task still removes its events through the cascade);
--     it bypasses RLS on Supabase, so no policy names it;
--   authenticated: reads the tasks they requested, and those tasks' events;
--   anon: nothing.
-- No role gets TRUNCATE, REFERENCES or TRIGGER, and none needs the identity sequence: inserts
-- take its values without any privilege on it.
ALTER TABLE public.story_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.story_task_events ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON public.story_tasks, public.story_task_events FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON SEQUENCE public.story_task_events_seq_seq FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON public.story_tasks, public.story_task_events TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.story_tasks TO service_role;
GRANT SELECT, INSERT ON public.story_task_events TO service_role;

CREATE POLICY story_tasks_select_own ON public.story_tasks
  FOR SELECT TO authenticated
  USING (requested_by = (SELECT auth.uid()));

CREATE POLICY story_task_events_select_own ON public.story_task_events
  FOR SELECT TO authenticated
  USING (
    EXISTS (
      SELECT 1 FROM public.story_tasks AS task
      WHERE task.id = story_task_events.task_id
        AND task.requested_by = (SELECT auth.uid())
    )
  );

-- The planner's row estimates reach API callers (PostgREST's `Prefer: count=planned`), and they
-- are computed from statistics over every user's rows: with them, a signed-in user learned how
-- many tasks another user has, and that user's id by bisection (`requested_by=lt.<uuid>`). No
-- statistics are kept on the columns that identify users, stories and tasks, so estimates on
-- them are the planner's flat defaults. The library's queries keep their index scans (README,
-- "What a signed-in user can learn").
ALTER TABLE public.story_tasks
  ALTER COLUMN id SET STATISTICS 0,
  ALTER COLUMN story_id SET STATISTICS 0,
  ALTER COLUMN requested_by SET STATISTICS 0;
ALTER TABLE public.story_task_events
  ALTER COLUMN task_id SET STATISTICS 0;
