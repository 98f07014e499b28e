# Empty dependencies file for test_host_events.
# This may be replaced when dependencies are built.
