# Empty dependencies file for offload_workload.
# This may be replaced when dependencies are built.
