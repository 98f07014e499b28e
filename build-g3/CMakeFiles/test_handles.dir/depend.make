# Empty dependencies file for test_handles.
# This may be replaced when dependencies are built.
