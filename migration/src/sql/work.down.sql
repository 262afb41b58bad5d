DROP TABLE IF EXISTS tasks, projects CASCADE;
DROP TYPE IF EXISTS task_priority, task_status;
