DROP TABLE job_uploads;
DROP TABLE jobs;
