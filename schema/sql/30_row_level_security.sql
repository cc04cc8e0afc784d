-- Who may see and change story tasks through the Supabase API:
--   service_role: everything (the agent backend);
--   authenticated: read the tasks they requested, and those tasks' events;
--   anon: nothing.
ALTER TABLE public.story_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.story_task_events ENABLE ROW LEVEL SECURITY;

-- Supabase's default privileges grant new public tables to every API role; narrow them.
REVOKE ALL ON public.story_tasks, public.story_task_events FROM anon, authenticated;
GRANT SELECT ON public.story_tasks, public.story_task_events TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.story_tasks, public.story_task_events TO service_role;

DROP POLICY IF EXISTS story_tasks_service_role_all ON public.story_tasks;
CREATE POLICY story_tasks_service_role_all ON public.story_tasks
  FOR ALL TO service_role
  USING (true) WITH CHECK (true);

DROP POLICY IF EXISTS story_tasks_select_own ON public.story_tasks;
CREATE POLICY story_tasks_select_own ON public.story_tasks
  FOR SELECT TO authenticated
  USING (requested_by = (SELECT auth.uid()));

DROP POLICY IF EXISTS story_task_events_service_role_all ON public.story_task_events;
CREATE POLICY story_task_events_service_role_all ON public.story_task_events
  FOR ALL TO service_role
  USING (true) WITH CHECK (true);

DROP POLICY IF EXISTS story_task_events_select_own ON public.story_task_events;
CREATE POLICY story_task_events_select_own ON public.story_task_events
  FOR SELECT TO authenticated
  USING (
    EXISTS (
      SELECT 1 FROM public.story_tasks AS task
      WHERE task.id = story_task_events.task_id
        AND task.requested_by = (SELECT auth.uid())
    )
  );
