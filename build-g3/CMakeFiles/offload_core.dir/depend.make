# Empty dependencies file for offload_core.
# This may be replaced when dependencies are built.
