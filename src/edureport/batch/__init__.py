"""Building many reports: jobs, build keys, execution, the manifest, the lock, the executors."""
