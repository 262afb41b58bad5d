DROP TABLE IF EXISTS workflows, job_results, jobs, task_output, executions, agents CASCADE;
DROP FUNCTION IF EXISTS atlas_task_output_seq();
DROP TYPE IF EXISTS workflow_status, job_status, execution_status, agent_type;
