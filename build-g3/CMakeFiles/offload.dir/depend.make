# Empty dependencies file for offload.
# This may be replaced when dependencies are built.
