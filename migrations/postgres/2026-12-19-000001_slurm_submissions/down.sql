DROP TABLE slurm_submissions;
