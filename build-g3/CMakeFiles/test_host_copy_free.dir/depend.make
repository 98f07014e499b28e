# Empty dependencies file for test_host_copy_free.
# This may be replaced when dependencies are built.
