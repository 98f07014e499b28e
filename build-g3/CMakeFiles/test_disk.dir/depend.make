# Empty dependencies file for test_disk.
# This may be replaced when dependencies are built.
