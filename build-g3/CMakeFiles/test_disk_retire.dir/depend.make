# Empty dependencies file for test_disk_retire.
# This may be replaced when dependencies are built.
