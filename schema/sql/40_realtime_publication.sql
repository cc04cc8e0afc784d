-- Supabase Realtime broadcasts changes of both tables (their subscribers still see only the rows
-- their SELECT policy allows).
ALTER PUBLICATION supabase_realtime ADD TABLE public.story_tasks, public.story_task_events;
