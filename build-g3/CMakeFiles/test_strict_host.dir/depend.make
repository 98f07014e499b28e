# Empty dependencies file for test_strict_host.
# This may be replaced when dependencies are built.
