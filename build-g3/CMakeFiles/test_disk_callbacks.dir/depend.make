# Empty dependencies file for test_disk_callbacks.
# This may be replaced when dependencies are built.
